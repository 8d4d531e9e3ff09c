"""The corpus programs are programs to run, not modules to import: pytest (run with
``--doctest-modules``) must not collect them, nor import them looking for doctests."""

collect_ignore = ["corpus"]
