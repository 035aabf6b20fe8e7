"""``snapd run``: the scheduler, the observer fan-out, inventory, signals and sd_notify."""
