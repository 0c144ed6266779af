"""The published OpenAPI schema and its docs page."""

import yaml
from django.core.management import call_command
from django.test import Client


def test_schema_generates_cleanly_and_names_twilio_parameters(tmp_path: object, db: None) -> None:
    target = f"{tmp_path}/schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", target)
    with open(target) as handle:
        schema = yaml.safe_load(handle)
    paths = schema["paths"]
    assert "/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers.json" in paths
    create = paths["/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers.json"]["post"]
    assert "application/x-www-form-urlencoded" in create["requestBody"]["content"]
    properties = schema["components"]["schemas"]["NumberCreateInputRequest"]["properties"]
    assert {"PhoneNumber", "VoiceUrl", "SmsFallbackMethod"} <= set(properties)
    assert schema["components"]["securitySchemes"]["twilioBasic"]["scheme"] == "basic"


def test_docs_page_renders(db: None) -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    assert b"redoc" in response.content.lower()
