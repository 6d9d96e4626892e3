"""Registers the orders' answer to the approval engine (see kehu.approvals.hooks)."""
