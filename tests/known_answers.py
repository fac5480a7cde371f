"""The provider's published worked examples of the webhook checksum, as known-answer vectors.

Used by the tests of signing.py and of the webhook views; README.rst ("Webhook checksums") says
why the checksum printed on the getting-started page is not one of them.
"""

# The getting-started page's example, signed with its own PHP code (raw values).
RAW_PARAMS = {
    "campaign": "campaign",
    "dataField": "data",
    "date": "201405161005",
    "from": "+27726661234",
    "message": "Test + Message",
    "messageId": "24567",
    "nonce": "e273f177-6275-974f-1a12-0d8b92c5b3cb",
    "nonce-date": "2014051610050102",
    "to": "+27725551234",
}
RAW_STRING = (
    "campaign=campaign&dataField=data&date=201405161005&from=+27726661234&message=Test + Message"
    "&messageId=24567&nonce=e273f177-6275-974f-1a12-0d8b92c5b3cb&nonce-date=2014051610050102"
    "&to=+27725551234"
)
RAW_CHECKSUM = "a8feae2be10989b7a9a3d1f38b087a0b5d6d6d9e"
# The checksum that page prints: no variant of the algorithm reproduces it.
PUBLISHED_WRONG_CHECKSUM = "9d0e933a457eabf94a73d7e15dd8849e89834464"

# The 2014 PDF guide's worked example (form-encoded values).
FORM_PARAMS = {
    "to": "27725551234",
    "from": "27726661234",
    "dataField": "data",
    "date": "201405161005",
    "message": "Test Message",
    "charset": "UTF-8",
    "nonce": "e273f1776275974f1a120d8b92c5b3cb",
    "nonce-date": "2014051610050102",
}
FORM_STRING = (
    "charset=UTF-8&dataField=data&date=201405161005&from=27726661234&message=Test+Message"
    "&nonce=e273f1776275974f1a120d8b92c5b3cb&nonce-date=2014051610050102&to=27725551234"
)
FORM_CHECKSUM = "e0f97132b829301592874356f76e47edc355688f"
