"""An OpenAPI 3 document per datastore resource: ``datastore_search`` on that table, with the
table's own fields and types as the record schema and as the filter parameters."""

from .models import Resource

TYPES = {"int": {"type": "integer"}, "numeric": {"type": "number"}, "bool": {"type": "boolean"}}


def resource_openapi(resource: Resource, base: str) -> dict:
    properties = {"_id": {"type": "integer", "description": "row number"}}
    for field in resource.datastore_fields:
        properties[field["id"]] = dict(TYPES.get(field["type"], {"type": "string"}), nullable=True)
    field_names = [f["id"] for f in resource.datastore_fields]
    record = {"type": "object", "properties": properties}
    parameters = [
        {"name": "resource_id", "in": "query", "required": True,
         "schema": {"type": "string", "enum": [str(resource.id)]}},
        {"name": "q", "in": "query", "description": "full-text search over all fields", "schema": {"type": "string"}},
        {"name": "filters", "in": "query", "description": 'JSON object of field: value, e.g. {"%s": "..."}'
         % (field_names[0] if field_names else "field"), "schema": {"type": "string"}},
        {"name": "fields", "in": "query", "description": "comma-separated fields to return",
         "schema": {"type": "string"}},
        {"name": "sort", "in": "query", "description": 'e.g. "%s desc"' % (field_names[0] if field_names else "_id"),
         "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 100, "minimum": 0, "maximum": 32000}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "default": 0, "minimum": 0}},
    ]  # fmt: skip
    error = {
        "type": "object",
        "properties": {
            "help": {"type": "string"}, "success": {"type": "boolean", "enum": [False]},
            "error": {"type": "object", "properties": {"__type": {"type": "string"}, "message": {"type": "string"}}},
        },
    }  # fmt: skip
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"{resource.dataset.title} · {resource.name}",
            "version": resource.last_modified.strftime("%Y%m%d%H%M%S"),
            "description": f"Datastore API of resource {resource.id} ({resource.datastore_row_count} rows), "
            f"dataset {resource.dataset.name}. CKAN-compatible datastore_search.",
            "license": {"name": resource.dataset.get_license_display()},
        },
        "servers": [{"url": base}],
        "paths": {
            "/api/3/action/datastore_search": {
                "get": {
                    "operationId": "datastore_search",
                    "summary": f"Search the rows of {resource.name}",
                    "parameters": parameters,
                    "responses": {
                        "200": {
                            "description": "CKAN envelope with the matching rows",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "help": {"type": "string"},
                                            "success": {"type": "boolean"},
                                            "result": {
                                                "type": "object",
                                                "properties": {
                                                    "resource_id": {"type": "string"},
                                                    "total": {"type": "integer"},
                                                    "limit": {"type": "integer"},
                                                    "offset": {"type": "integer"},
                                                    "fields": {"type": "array", "items": {"type": "object"}},
                                                    "records": {
                                                        "type": "array",
                                                        "items": {"$ref": "#/components/schemas/Record"},
                                                    },
                                                },
                                            },
                                        },
                                    }
                                }
                            },
                        },  # fmt: skip
                        "404": {
                            "description": "no such resource",
                            "content": {"application/json": {"schema": error}},
                        },
                        "409": {
                            "description": "a bad field, filter or sort",
                            "content": {"application/json": {"schema": error}},
                        },
                    },
                }
            }
        },
        "components": {"schemas": {"Record": record}},
    }
