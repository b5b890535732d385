#!/usr/bin/env ruby
# Runs Synapse's own haproxy generator (Synapse::ConfigGenerator::Haproxy,
# lib/synapse/config_generator/haproxy.rb of a Synapse checkout) on a config
# and fixed backends, and prints the haproxy.cfg text it generates. This is
# how tests/fixtures/synapse-golden/*.synapse.cfg were produced; see README
# there.
#
#   ruby synapse_render.rb SYNAPSE_CHECKOUT CONFIG.json BACKENDS.json
#
# BACKENDS.json: {"<service>": [{"name", "host", "port", ...}, ...]}, the
# backends discovery would report, in that order. A service not listed has
# none. Default servers are applied as Synapse's base watcher applies them
# (set_backends): appended with keep_default_servers, used when nothing was
# discovered; backend_port_override as there. The generator's own time stamp
# line is printed as Synapse writes it.
require 'json'
require "logger"
require "yaml"
srand(0) # server_order_seed defaults to rand(2000): one fixed draw

checkout, config_path, backends_path = ARGV
abort "usage: #{$0} SYNAPSE_CHECKOUT CONFIG.json BACKENDS.json" unless backends_path
$LOAD_PATH.unshift(File.join(__dir__, 'stubs'))
$LOAD_PATH.unshift(File.join(checkout, 'lib'))
module Synapse; end
require 'synapse/log'
require 'synapse/config_generator/haproxy'

config = config_path.end_with?(".yaml") ? YAML.safe_load(File.read(config_path)) : JSON.parse(File.read(config_path))
found = JSON.parse(File.read(backends_path))
services = config['services'] || {}
if config['service_conf_dir']
  dir = File.join(File.dirname(config_path), File.basename(config['service_conf_dir']))
  Dir.glob(File.join(dir, '*.json')).sort.each do |f|
    services[File.basename(f, '.json')] = JSON.parse(File.read(f))
  end
end

haproxy = Synapse::ConfigGenerator::Haproxy.new(config['haproxy'])
Watcher = Struct.new(:name, :config_for_generator, :revision, :backends)
watchers = services.map do |name, svc|
  backends = (found[name] || []).map(&:dup)
  defaults = svc['default_servers'] || []
  backends += defaults if svc['keep_default_servers']
  if svc['backend_port_override']
    backends = backends.map { |b| b.merge('port' => svc['backend_port_override']) }
  end
  backends = backends.uniq { |b| [b['host'], b['port'], b.fetch('name', '')] }
  backends = defaults if backends.empty?
  generator_config = { 'haproxy' => haproxy.normalize_watcher_provided_config(name, svc['haproxy'] || {}) }
  Watcher.new(name, generator_config, 0, backends)
end
print haproxy.generate_config(watchers)
