"""The portal offers a rejected invoice's documents as the API serves them: what the ERP sent, no generated document."""

from __future__ import annotations


def test_a_rejected_invoice_offers_its_input_and_no_generated_document(signed_in, world):
    client = signed_in()
    invoice = world.invoices["wrong_total"]
    page = client.get(f"/portal/invoices/{invoice}").get_data(as_text=True)
    assert f"/portal/invoices/{invoice}/documents/input" in page
    for kind in ("facturx", "ubl", "cii"):
        assert f"/portal/invoices/{invoice}/documents/{kind}" not in page
        assert client.get(f"/portal/invoices/{invoice}/documents/{kind}").status_code == 409
    assert 'id="download-facturx"' not in page and "application/pdf" not in page
    assert client.get(f"/portal/invoices/{invoice}/documents/input").status_code == 200


def test_a_valid_invoice_still_offers_every_document(signed_in, world):
    client = signed_in()
    invoice = world.invoices["valid"]
    page = client.get(f"/portal/invoices/{invoice}").get_data(as_text=True)
    assert 'id="download-facturx"' in page
    for kind in ("input", "facturx", "ubl", "cii"):
        assert client.get(f"/portal/invoices/{invoice}/documents/{kind}").status_code == 200
