"""The pages: the chat page with its widget, and the staff pages (review, statistics, import/export)."""

from django.core.files.uploadedfile import SimpleUploadedFile

from civicstack.chatbot.models import Entry

from .conftest import ask


def test_the_chat_page_carries_the_widget_for_its_venue(client, knowledge):
    page = client.get("/chatbot/?venue=library").content.decode()

    assert "data-chat-widget" in page and 'data-venue="library"' in page
    assert "chatbot/chat.js" in page and "<script>" not in page  # no inline script under the CSP


def test_staff_pages_refuse_citizens(knowledge, citizen, client_for):
    for path in ["/chatbot/staff/", "/chatbot/staff/review/", "/chatbot/staff/knowledge/"]:
        assert client_for(citizen[0]).get(path).status_code == 403
        assert client_for(None).get(path).status_code == 302  # to the login page


def test_statistics_and_review_pages(knowledge, staff, client, client_for):
    ask(client, "鴿子在陽台築巢怎麼辦")
    clerk = client_for(staff["clerk_a"])

    assert "鴿子在陽台築巢怎麼辦" in clerk.get("/chatbot/staff/review/").content.decode()
    assert clerk.get("/chatbot/staff/").status_code == 200


def test_an_upload_with_bad_rows_lists_them_and_imports_nothing(knowledge, staff, client_for):
    before = Entry.objects.count()
    content = "id,question,answer,category,venue\nB1,問題,,一般,\nB2,問題二,答案,一般,moon\n".encode()

    page = client_for(staff["city_admin"]).post("/chatbot/staff/knowledge/", {
        "knowledge_base": "hotline-faq", "file": SimpleUploadedFile("bad.csv", content)}).content.decode()  # fmt: skip

    assert "Line 2:" in page and "Line 3:" in page and "Unknown venue moon." in page
    assert Entry.objects.count() == before


def test_export_as_xlsx_and_csv(knowledge, staff, client_for):
    admin = client_for(staff["clerk_a"])

    csv_file = admin.get("/chatbot/staff/knowledge/export.csv?knowledge_base=venues")
    xlsx = admin.get("/chatbot/staff/knowledge/export.xlsx?knowledge_base=venues")

    assert (
        csv_file.content.decode("utf-8-sig").splitlines()[0].startswith("id,question,answer,category,venue")
    )
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
