"""The OpenAPI document says every error is problem+json (see
`cms.web.openapi.ProblemResponses`)."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_every_documented_error_response_is_problem_json(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    responses = doc["components"]["responses"]
    assert {"DEFAULT_ERROR", "NOT_FOUND", "PRECONDITION_FAILED"} <= set(responses)
    for name, response in responses.items():
        if name == "NOT_MODIFIED":
            assert "content" not in response or response["content"] == {}
            continue
        assert list(response["content"]) == ["application/problem+json"], name
        assert response["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
    assert responses["DEFAULT_ERROR"]["description"] == "Error"
