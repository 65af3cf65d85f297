"""Tests of payer authorizations."""
