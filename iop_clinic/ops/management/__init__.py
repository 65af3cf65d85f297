"""Management commands of the shell's operations app."""
