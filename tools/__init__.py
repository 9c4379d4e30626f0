"""Operator tools and the qsat command line."""
