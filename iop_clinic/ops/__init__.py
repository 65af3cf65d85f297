"""The shell's operations app: `manage.py preflight`, run before traffic is let in."""
