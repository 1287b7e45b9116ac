"""Problem Details: FastAPI's validation errors as the contract's FieldErrors."""

from portico_kit.problems import Location, field_error, problem_type, validation_problem


def test_names_nested_fields_with_a_dotted_path() -> None:
    error = field_error({"loc": ("body", "items", 1, "text"), "msg": "too short"})
    assert (error.location, error.field, error.message) == (
        Location.body,
        "items.1.text",
        "too short",
    )


def test_names_query_and_whole_body_errors() -> None:
    assert field_error({"loc": ("query", "limit"), "msg": "bad"}).field == "limit"
    assert field_error({"loc": ("body",), "msg": "bad"}).field == ""
    invalid = field_error({"loc": ("body", 7), "type": "json_invalid", "msg": "JSON decode error"})
    assert (invalid.field, invalid.message) == ("", "is not valid JSON")


def test_summarises_every_field_in_the_detail() -> None:
    problem = validation_problem([{"loc": ("body", "text"), "msg": "is required"}])
    assert problem.status == 400
    assert problem.detail == "Invalid request: body.text is required"
    assert problem_type(400) == "https://portico.dev/problems/validation-error"
    assert problem_type(418) == "https://portico.dev/problems/error"
