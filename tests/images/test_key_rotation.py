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


def _disable(api, kid):
    """The KEK version `kid` disabled (locally: its key file gone, so nothing it wrapped unwraps)."""
    keys = api.container.adapters.keys
    (keys.directory / f"{kid.rsplit('/', 1)[1].split('-')[0]}.key").unlink()


def test_referral_images_stay_readable_after_rotation_and_the_old_version_disabled(api):
    from tests.support.referrals import ReferralScene

    scene = ReferralScene(api)
    with_images = scene.submitted()["id"]
    image_id = scene.get(with_images, service=True)["lesions"][0]["images"][0]["id"]
    cancelled_draft = scene.ready()  # a draft's images are under a referral key too
    assert scene.step_response(cancelled_draft, "cancel", reason="sent elsewhere").status_code == 200
    without_images = scene.draft()["id"]
    headers, pid, patient_image = _patient_with_image(api, "alice")
    content = scene.url(with_images, f"/images/{image_id}/content", service=True)
    before = api.client.get(content, headers=scene.rita).content

    old_kid = api.container.adapters.keys.current_kid()
    api.container.adapters.keys.rotate()
    dry = api.container.key_rotation.run(dry_run=True)
    assert (dry.referrals.total, dry.referrals.rewrapped, dry.referrals.without_key) == (3, 2, 1)
    report = api.container.key_rotation.run()
    assert (report.rewrapped, report.referrals.rewrapped, report.referrals.without_key, report.failed) == (1, 2, 1, [])
    assert api.container.referral_records.get(scene.service_id, without_images).referral_key is None
    again = api.container.key_rotation.run()
    assert (again.referrals.rewrapped, again.referrals.already_current) == (0, 2)

    _disable(api, old_kid)
    api.container.referral_keys.cache.clear()
    api.container.patient_keys.cache.clear()
    assert api.client.get(content, headers=scene.rita).content == before
    assert api.client.get(scene.url(with_images, f"/images/{image_id}/thumbnail"), headers=scene.gp).status_code == 200
    assert api.client.get(f"/api/images/{patient_image}/content", headers=headers).status_code == 200
