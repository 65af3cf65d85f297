"""Management commands of the onboarding app."""
