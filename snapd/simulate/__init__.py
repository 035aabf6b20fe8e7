"""``snapd simulate``: the real pipeline on virtual time against the embedded fake API.

``faults`` says what goes wrong and when (presets or a small YAML file, seeded);
``driver`` walks the slots and the faults event by event on one manual clock and hands
each due slot to the runtime's engine, as the daemon does; ``invariants`` checks every
slot against the fake's request log; ``report`` turns what happened into the restore-point
ages, the intervals without one, the call counts and the exit code.

This package never imports the fake API: the command line builds it and hands it in.
"""
