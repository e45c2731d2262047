"""Helpers the tests share that are not fixtures: thread runners, checkout posts, paid fans, page forms."""
