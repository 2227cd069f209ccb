"""Lead fields as a live Marketo describes them (subset), for tests that need no server."""

from __future__ import annotations

from paragon_nb.marketo.models import LeadField


def field(
    name: str, data_type: str, display: str, *, length: int | None = None, read_only: bool = False
) -> LeadField:
    return LeadField(
        id=abs(hash(name)) % 10_000,
        displayName=display,
        dataType=data_type,
        name=name,
        length=length,
        read_only=read_only,
    )


FIELDS = [
    field("id", "integer", "Id", read_only=True),
    field("email", "email", "Email Address", length=255),
    field("firstName", "string", "First Name", length=255),
    field("lastName", "string", "Last Name", length=255),
    field("company", "string", "Company Name", length=255),
    field("title", "string", "Job Title", length=255),
    field("phone", "phone", "Phone Number", length=255),
    field("website", "url", "Website", length=255),
    field("address", "text", "Address"),
    field("numberOfEmployees", "integer", "Number of Employees"),
    field("annualRevenue", "currency", "Annual Revenue"),
    field("leadScore", "integer", "Lead Score"),
    field("rating", "float", "Rating"),
    field("unsubscribed", "boolean", "Unsubscribed"),
    field("dateOfBirth", "date", "Date of Birth"),
    field("lastActivity", "datetime", "Last Activity"),
    field("sicCode", "string", "SIC Code", length=40),
    field("createdAt", "datetime", "Created At", read_only=True),
]
BY_NAME = {f.name: f for f in FIELDS}
