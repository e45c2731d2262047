"""Every CheckConstraint / UniqueConstraint declared on a Frontrow model has a refusal test in its app's
tests/<app>/test_models_constraints.py."""

from pathlib import Path

from django.apps import apps

PROJECT_APPS = {"accounts", "concerts", "booking", "wallet", "queueing"}


def test_every_declared_constraint_has_a_refusal_test():
    tests_text = "".join(path.read_text() for path in Path(__file__).parents[1].glob("*/test_models_constraints.py"))
    declared = {
        constraint.name
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APPS
        for constraint in model._meta.constraints
    }
    assert declared, "no constraints found"
    untested = sorted(name for name in declared if f'"{name}"' not in tests_text)
    assert not untested, f"constraints without a test: {untested}"
