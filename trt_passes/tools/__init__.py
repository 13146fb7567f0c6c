"""The tools a person uses on a compilation: the command line, ``explain`` pictures, ``bisect``, coverage, parity."""
