"""The column names of common CRM and prospecting exports, and the lead field each one fills.

Plain data, one table per vendor, so that a new export format is a few lines here. A
header matches when it is equal ignoring case, spaces and punctuation (``_headers.key``):
``First Name``, ``first_name`` and ``FIRSTNAME`` are one header. Within a field, the
headers are listed in order of preference: when a file has two columns for one field
(Apollo's ``Company`` and ``Company Name for Emails``), the first listed wins and the
other is reported as ignored.

Sources (the vendors' own documentation of their export, import and field names):

- HubSpot: "HubSpot's default contact properties" and "HubSpot's default company
  properties" (knowledge.hubspot.com): First Name, Last Name, Email, Job Title, Company
  Name, Industry, Number of Employees, Country/Region, Website URL, Company Domain Name,
  Record ID.
- Salesforce: "Field Mapping for Importing Leads" (help.salesforce.com) and the Lead and
  Contact objects' field labels (developer.salesforce.com): First Name, Last Name, Full
  Name, Title, Company / Account, Email, Industry, No. of Employees / Employees, Country,
  Website, Description, Lead ID.
- Pipedrive: the labels of its person and organization fields as exported and imported
  ("Person - Name", "Person - Email", "Organization - Name", ...; support.pipedrive.com).
- Apollo: its people export (knowledge.apollo.io): First Name, Last Name, Title, Company,
  Company Name for Emails, Email, # Employees, Industry, Website, Country, Apollo Contact Id.
- LinkedIn Sales Navigator has no CSV export of leads of its own; its lists reach a CSV
  through CRM sync or list exporters, whose columns are listed here: First Name, Last
  Name, Full Name, Job Title, Company Name, Company Domain, Company Website, Company
  Headcount / Company Size / Company Employee Count Range, Company Industry.
"""

from __future__ import annotations

from collections.abc import Mapping

FIELDS = (
    "id",
    "first_name",
    "last_name",
    "full_name",
    "email",
    "title",
    "company",
    "domain",
    "website",
    "industry",
    "employees",
    "country",
    "notes",
)
"""The lead fields a column can fill; ``full_name`` is split into first and last name."""

GENERIC: Mapping[str, tuple[str, ...]] = {
    "id": ("id", "Lead ID", "Contact ID"),
    "first_name": ("first_name", "Given Name", "Forename"),
    "last_name": ("last_name", "Surname", "Family Name"),
    "full_name": ("full_name", "Name", "Contact Name", "Person Name"),
    "email": ("email", "Email Address", "E-mail", "Work Email", "Business Email"),
    "title": ("title", "Job Title", "Position", "Role"),
    "company": ("company", "Company Name", "Organization", "Organisation", "Account"),
    "domain": ("domain", "Company Domain", "Email Domain"),
    "website": ("website", "Website URL", "Company Website", "URL"),
    "industry": ("industry", "Sector"),
    "employees": ("employees", "Employee Count", "Headcount", "Company Size"),
    "country": ("country", "Country Code"),
    "notes": ("notes", "Note", "Comments", "Description"),
}
"""The lead fields' own names, and the plain spellings any spreadsheet uses."""

HUBSPOT: Mapping[str, tuple[str, ...]] = {
    "id": ("Record ID", "Contact ID"),
    "first_name": ("First Name",),
    "last_name": ("Last Name",),
    "email": ("Email", "Email Address"),
    "title": ("Job Title",),
    "company": ("Company Name", "Associated Company"),
    "domain": ("Company Domain Name",),
    "website": ("Website URL",),
    "industry": ("Industry",),
    "employees": ("Number of Employees",),
    "country": ("Country/Region", "Country"),
    "notes": ("Message",),
}

SALESFORCE: Mapping[str, tuple[str, ...]] = {
    "id": ("Lead ID", "Contact ID"),
    "first_name": ("First Name",),
    "last_name": ("Last Name",),
    "full_name": ("Full Name",),
    "email": ("Email",),
    "title": ("Title",),
    "company": ("Company / Account", "Company", "Account Name"),
    "website": ("Website",),
    "industry": ("Industry",),
    "employees": ("No. of Employees", "Employees", "NumberOfEmployees"),
    "country": ("Country", "Mailing Country"),
    "notes": ("Description",),
}

PIPEDRIVE: Mapping[str, tuple[str, ...]] = {
    "id": ("Person - ID",),
    "first_name": ("Person - First name",),
    "last_name": ("Person - Last name",),
    "full_name": ("Person - Name",),
    "email": ("Person - Email - Work", "Person - Email", "Person - Email - Other"),
    "title": ("Person - Job title",),
    "company": ("Organization - Name", "Person - Organization"),
    "website": ("Organization - Website",),
    "industry": ("Organization - Industry",),
    "employees": ("Organization - Number of employees",),
    "country": ("Organization - Address - Country", "Person - Country"),
    "notes": ("Person - Note",),
}

APOLLO: Mapping[str, tuple[str, ...]] = {
    "id": ("Apollo Contact Id",),
    "first_name": ("First Name",),
    "last_name": ("Last Name",),
    "email": ("Email",),
    "title": ("Title",),
    "company": ("Company", "Company Name for Emails"),
    "website": ("Website",),
    "industry": ("Industry",),
    "employees": ("# Employees",),
    "country": ("Country", "Company Country"),
}

SALES_NAVIGATOR: Mapping[str, tuple[str, ...]] = {
    "first_name": ("First Name",),
    "last_name": ("Last Name",),
    "full_name": ("Full Name",),
    "email": ("Email",),
    "title": ("Job Title", "Title"),
    "company": ("Company Name", "Company"),
    "domain": ("Company Domain",),
    "website": ("Company Website",),
    "industry": ("Company Industry",),
    "employees": ("Company Headcount", "Company Size", "Company Employee Count Range"),
    "country": ("Company Country",),
}

EXPORTS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "HubSpot": HUBSPOT,
    "Salesforce": SALESFORCE,
    "Pipedrive": PIPEDRIVE,
    "Apollo": APOLLO,
    "LinkedIn Sales Navigator": SALES_NAVIGATOR,
    "generic": GENERIC,
}
"""Every table, by the export it describes; ``docs/workspace.md`` lists them all."""
