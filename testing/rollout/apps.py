from django.apps import AppConfig


class RolloutConfig(AppConfig):
    name = "testing.rollout"
    label = "rollout"
