"""The peak-travel simulation at CI size (issue #24): each test states
something the model says and the simulation must show, and fails if a
setting or a figure it depends on changes that."""

import dataclasses
import importlib.util
import math
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("pipeline", HERE / "pipeline.py")
pipeline = importlib.util.module_from_spec(_spec)
sys.modules["pipeline"] = pipeline
_spec.loader.exec_module(pipeline)

SECONDS = 40
SEED = 24


def profile(name, **changes):
    return dataclasses.replace(pipeline.PROFILES[name], **changes)


def run(p, rate, seconds=SECONDS, seed=SEED):
    return pipeline.simulate(p, rate, seconds, seed)


def test_same_seed_same_figures_other_seed_other_draws():
    p = profile("raised")
    a, b = run(p, 50, 10), run(p, 50, 10)
    assert a == b
    c = run(p, 50, 10, seed=SEED + 1)
    assert c["apps"] != a["apps"] or c["issued_p99"] != a["issued_p99"]


def test_raised_quotas_meet_the_target():
    s = run(profile("raised"), 100)
    assert s["issued_rate"] >= 95
    assert s["issued_p99"] <= 10
    assert s["emailed_rate"] >= 95
    shown = {k: v for k, v in s["stats"].items() if "applicant" in k or "lost" in k or "stuck" in k}
    assert not shown, shown
    assert s["duplicates"] == 0


def test_at_the_default_ses_rate_emails_back_up():
    p = profile("raised", ses_rate=14, email_senders=2)
    s = run(p, 50)
    # Issuing does not wait on email ...
    assert s["issued_p99"] <= 10
    assert s["issued_rate"] >= 45
    # ... but the queue takes what SES cannot, and grows.
    assert s["emailed_rate"] <= 14 * 1.05
    assert s["depth"]["email queue"] >= (50 - 14) * SECONDS * 0.5
    # Paced senders never hit SES's limit.
    assert "SES throttles" not in s["stats"]


def test_unpaced_senders_above_the_ses_rate_are_refused():
    p = profile("raised", ses_rate=14, email_senders=5, paced=False)
    s = run(p, 50)
    assert s["stats"].get("SES throttles", 0) > 0


def test_a_stage_below_the_arrival_rate_grows_its_queue():
    # One shard and one batch at a time: the stream is the bottleneck.
    p = profile("raised", shards=1, parallelization=1)
    m = pipeline.predict(p, 50)
    assert m["down_cap"] < 50
    s = run(p, 50)
    assert s["issued_rate"] == pytest.approx(m["issued"], rel=0.2)
    assert s["depth"]["stream"] >= (50 - m["down_cap"]) * SECONDS * 0.5
    assert s["issued_p99"] > 10


def test_parallelization_is_what_carries_the_peak():
    # The same stream with ParallelizationFactor 1 misses 100/s; with the
    # template's value it carries it.
    slow = pipeline.predict(profile("raised", parallelization=1), 100)
    fast = pipeline.predict(profile("raised"), 100)
    assert slow["issued"] < 100 <= fast["issued"]


def test_kms_below_two_signs_a_visa_throttles_and_bounds_issuing():
    p = profile("raised", kms_rate=150)
    m = pipeline.predict(p, 100)
    assert m["issued"] == pytest.approx(75)
    s = run(p, 100)
    assert s["stats"].get("KMS throttles", 0) > 0
    assert s["issued_rate"] == pytest.approx(75, rel=0.2)
    # The retries back off: nothing is given up on.
    assert "stuck visas (stream retries spent)" not in s["stats"]


def test_the_checkout_route_caps_paid_applications():
    p = profile("default")
    m = pipeline.predict(p, 50)
    assert m["paid"] == 20
    s = run(p, 50)
    assert s["issued_rate"] == pytest.approx(20, rel=0.2)
    assert s["stats"]["applicant errors (checkout throttle)"] > 0


def test_a_small_pay_webhook_reservation_throttles_a_cold_peak():
    s = run(profile("raised", webhook_reserved=20), 100, 20)
    assert s["stats"].get("webhook throttles (pay-webhook concurrency)", 0) > 0
    # Those payments wait for Stripe's next attempt.
    assert s["depth"]["webhook retries"] > 0
    # The template's reservation does not.
    s = run(profile("raised"), 100, 20)
    assert "webhook throttles (pay-webhook concurrency)" not in s["stats"]


def test_model_and_simulation_agree_and_the_check_can_fail(capsys):
    assert pipeline.check(60, SEED) == 0
    # A model that promised twice the capacity would be caught.
    original = pipeline.capacities

    def optimistic(p, rate):
        caps = original(p, rate)
        caps["issue"] = {k: 2 * v for k, v in caps["issue"].items()}
        return caps

    pipeline.capacities = optimistic
    try:
        assert pipeline.check(20, SEED) == 1
    finally:
        pipeline.capacities = original
    assert "CHECK FAILED" in capsys.readouterr().out


def test_p99_model_follows_the_poll_interval():
    p = profile("raised")
    kind, base = pipeline.predict(p, 10)["p99"]
    assert kind == "="
    saved = pipeline.STREAM_POLL
    pipeline.STREAM_POLL = 1.0
    try:
        assert pipeline.predict(p, 10)["p99"][1] > base + 0.5
    finally:
        pipeline.STREAM_POLL = saved
    assert math.isfinite(base)
