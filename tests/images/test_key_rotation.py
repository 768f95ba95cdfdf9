"""KEK rotation: every patient key re-wrapped under the newest KEK version, old versions still
unwrapping meanwhile, no image byte re-encrypted, resumable, with a dry run."""
from shared_code.crypto import wrapped_key_from_dict
from tests.images.photos import phone_jpeg
from tests.support import steps


def _patient_with_image(api, subject):
    headers = api.patient(subject)
    image = steps.upload(api, headers, steps.folder(api, headers, "mole"), phone_jpeg(seed=len(subject)))
    return headers, steps.patient_id(api, headers), image["id"]


def _kid(api, pid):
    return wrapped_key_from_dict(api.container.patients.account(pid).doc["patientKey"]).kid


def test_rotation_rewraps_patient_keys_and_touches_no_image(api):
    patients = [_patient_with_image(api, s) for s in ("alice", "bob", "carol")]
    old_kid = api.container.adapters.keys.current_kid()
    blobs_before = {b.name: b.etag for b in api.container.adapters.blobs.list("images")}
    contents_before = {img: api.client.get(f"/api/images/{img}/content", headers=h).content for h, _, img in patients}
    new_kid = api.container.adapters.keys.rotate()
    assert new_kid != old_kid
    api.container.patient_keys.cache.clear()
    # Before the run, images still open through the old version.
    headers, pid, image = patients[0]
    assert api.client.get(f"/api/images/{image}/thumbnail", headers=headers).status_code == 200

    dry = api.container.key_rotation.run(dry_run=True)
    assert (dry.total, dry.rewrapped, dry.already_current) == (3, 3, 0)
    assert all(_kid(api, pid) == old_kid for _, pid, _ in patients)  # a dry run writes nothing

    report = api.container.key_rotation.run()
    assert (report.rewrapped, report.already_current, report.failed) == (3, 0, [])
    assert all(_kid(api, pid) == new_kid for _, pid, _ in patients)
    again = api.container.key_rotation.run()  # resumable: a second run has nothing to do
    assert (again.rewrapped, again.already_current) == (0, 3)

    assert {b.name: b.etag for b in api.container.adapters.blobs.list("images")} == blobs_before
    api.container.patient_keys.cache.clear()
    for headers, _, image in patients:
        assert api.client.get(f"/api/images/{image}/content", headers=headers).content == contents_before[image]


def test_erased_patients_are_not_visited(api):
    headers, pid, _ = _patient_with_image(api, "alice")
    _patient_with_image(api, "bob")
    api.client.delete("/api/me", headers=headers)
    api.container.adapters.keys.rotate()
    report = api.container.key_rotation.run()
    assert (report.total, report.rewrapped) == (1, 1)


def test_the_cli_rotates_with_a_dry_run_first(api):
    import io

    from shared_code.cli import main

    _, pid, _ = _patient_with_image(api, "alice")
    old = _kid(api, pid)
    api.container.adapters.keys.rotate()
    out = io.StringIO()
    assert main(["rotate-patient-keys", "--dry-run", "--no-progress"], container=api.container, out=out) == 0
    assert "would re-wrap: 1" in out.getvalue() and _kid(api, pid) == old
    out = io.StringIO()
    assert main(["rotate-patient-keys"], container=api.container, out=out) == 0
    assert "re-wrapped: 1" in out.getvalue() and _kid(api, pid) != old
