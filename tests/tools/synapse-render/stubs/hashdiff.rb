# Stand-in for the hashdiff gem: Synapse's generator only asks whether a
# service's haproxy section changed since its state file (to decide on a
# reload); it never shapes the text.
module HashDiff
  def self.diff(a, b)
    a == b ? [] : [['~', '', a, b]]
  end
end
