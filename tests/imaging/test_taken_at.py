from datetime import datetime, timedelta, timezone

import pytest

from shared_code.imaging import process_image
from shared_code.imaging.exif import orientation_app1, read
from tests.imaging import builders as b

UTC = timezone.utc
SMALL = b.photo((64, 48), noise=False)


def taken_at(**exif_kwargs):
    return process_image(b.jpeg(SMALL, exif=b.identifying_exif(**exif_kwargs))).taken_at


def test_offset_applied():
    assert taken_at(offset="-05:30") == datetime(2024, 5, 6, 12, 38, 9, tzinfo=UTC)


def test_no_offset_means_configured_zone_default_utc():
    assert taken_at(offset=None) == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    london_summer = timezone(timedelta(hours=1))
    data = b.jpeg(SMALL, exif=b.identifying_exif(offset=None))
    assert process_image(data, exif_naive_tz=london_summer).taken_at == datetime(2024, 5, 6, 6, 8, 9, tzinfo=UTC)


@pytest.mark.parametrize("value", ["0000:00:00 00:00:00", "    :  :     :  :  ", "2024:13:45 99:00:00", "yesterday"])
def test_placeholder_or_garbage_dates_give_none(value):
    assert taken_at(taken=value) is None


def test_no_date_gives_none():
    assert taken_at(taken=None) is None
    assert process_image(b.jpeg(SMALL)).taken_at is None


def test_client_time_wins_and_is_normalised_to_utc():
    client = datetime(2025, 1, 2, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    data = b.jpeg(SMALL, exif=b.identifying_exif())
    assert process_image(data, client_taken_at=client).taken_at == datetime(2025, 1, 2, 7, 30, tzinfo=UTC)


def test_naive_client_time_is_a_caller_error():
    with pytest.raises(ValueError):
        process_image(b.jpeg(SMALL), client_taken_at=datetime(2025, 1, 2, 9, 30))


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_garbled_exif_yields_defaults_not_errors():
    assert read(b"Exif\x00\x00MM\x00\x2a\xff\xff\xff\xff") == read(None)
    assert read(b"Exif\x00\x00" + bytes(100)).orientation == 1


def test_minimal_exif_round_trips():
    for orientation in range(1, 9):
        assert read(orientation_app1(orientation)).orientation == orientation
    with pytest.raises(ValueError):
        orientation_app1(9)
