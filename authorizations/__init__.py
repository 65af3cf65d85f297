"""Payer authorizations: payers, each enrollment's coverage and authorizations, usage from
attendance, alerts and the utilization-review packet."""
