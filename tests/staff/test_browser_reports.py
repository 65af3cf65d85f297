"""The reports in real Chromium: every page opens with its chart, a filter changes the figures,
and both export formats download and read back. Time is not frozen (see test_browser.py), so
the filters name the hand-computed clinic's dates."""
import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.reports.world import build_report_world

from .test_browser import _nav_to, _shoot, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLES = ["Census", "Attendance", "Outcomes", "Access", "Billing units", "Staff load"]


def test_it_opens_each_report_filters_it_and_downloads_both_formats(tablet, live_server):
    w = build_report_world()
    page = tablet
    _sign_in(page, live_server, w.director)

    _nav_to(page, "Reports")
    page.wait_for_url(f"**{reverse('report_index')}")
    for title in TITLES:
        page.goto(live_server.url + reverse("report_index"))
        page.get_by_role("link", name=title).click()
        page.get_by_role("heading", name=title, exact=True).wait_for()
        assert page.locator("svg.chart[role=img] desc").count() >= 1, title
        assert page.locator("table caption").count() >= 1, title
        assert page.evaluate("document.documentElement.scrollWidth") <= 768, title

    page.goto(live_server.url + reverse("report_attendance"))
    page.get_by_label("From").fill("2026-02-02")
    page.get_by_label("To").fill("2026-02-18")
    page.get_by_role("button", name="Show", exact=True).click()
    page.get_by_text("Attendance rate 78.1%").wait_for()
    page.get_by_label("Clinician's caseload").select_option(label="Kim Clinician")
    page.get_by_role("button", name="Show", exact=True).click()
    page.get_by_text("Attendance rate 92.9%").wait_for()
    _shoot(page, "report-attendance-768.png")

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Download CSV").click()
    text = open(csv_download.value.path(), encoding="utf-8").read()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Attendance"]
    assert rows[2][:5] == ["All", "All sessions", "7.0", "6.5", "92.9"]

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Download XLSX").click()
    assert xlsx_download.value.suggested_filename == "attendance-20260202-20260218.xlsx"
    book = load_workbook(io.BytesIO(xlsx_download.value.path().read_bytes()), read_only=True)
    first = list(book["Attendance"].iter_rows(values_only=True))
    assert first[1][:5] == ("All", "All sessions", 7.0, 6.5, 92.9)
    assert page.js_errors == []
