#include "check_window.h"

void check_window_init(struct check_window *w, int rise, int fall)
{
    *w = (struct check_window){.rise = rise > 0 ? rise : 1, .fall = fall > 0 ? fall : 1};
}

bool check_window_push(struct check_window *w, bool pass)
{
    int size = w->rise > w->fall ? w->rise : w->fall;
    if (!w->started) {
        /* Nerve fills its buffer with the first result, then pushes it again. */
        w->started = true;
        w->up = pass;
        w->run_pass = pass;
        w->run = size;
        return w->up;
    }
    if (pass == w->run_pass) {
        if (w->run < size) w->run++;
    } else {
        w->run_pass = pass;
        w->run = 1;
    }
    if (!w->run_pass && w->run >= w->fall) w->up = false;
    if (w->run_pass && w->run >= w->rise) w->up = true;
    return w->up;
}
