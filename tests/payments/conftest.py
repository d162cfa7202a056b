from tests.fake_stripe import fake_stripe, fake_stripe_server  # noqa: F401  (fixtures)
