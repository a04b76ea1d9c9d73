"""Smoke-test processor of the IPTV platform: proves NiFi's Python bridge end to end.

It is a FlowFileTransform that declares one PyPI dependency (python-slugify). On first use NiFi creates a
virtual environment for it and pip-installs that dependency, so a working transform shows that the bridge,
the per-processor venv and the package index are all in order. tests/integration/test_nifi.py uses it.

Each line of the FlowFile content is turned into a slug ("Hello, IPTV World!" -> "hello-iptv-world");
the result keeps the line structure. Not part of the production flows.
"""

from nifiapi.flowfiletransform import FlowFileTransform, FlowFileTransformResult
from nifiapi.properties import PropertyDescriptor, StandardValidators


class SlugifyText(FlowFileTransform):
    class Java:
        implements = ["org.apache.nifi.python.processor.FlowFileTransform"]

    class ProcessorDetails:
        version = "0.1.0"
        description = "Platform smoke test: slugifies each line of the content with python-slugify (from PyPI)."
        tags = ["iptv", "smoke-test", "python"]
        dependencies = ["python-slugify==8.0.4"]

    SEPARATOR = PropertyDescriptor(
        name="Separator",
        description="Character placed between the words of a slug.",
        required=True,
        default_value="-",
        validators=[StandardValidators.NON_EMPTY_VALIDATOR],
    )

    def __init__(self, **kwargs):
        super().__init__()

    def getPropertyDescriptors(self):
        return [self.SEPARATOR]

    def transform(self, context, flowfile):
        from slugify import slugify  # imported here: it exists only inside the venv NiFi builds

        separator = context.getProperty(self.SEPARATOR).getValue()
        text = flowfile.getContentsAsBytes().decode("utf-8")
        slugs = [slugify(line, separator=separator) for line in text.splitlines()]
        return FlowFileTransformResult(
            relationship="success",
            contents="\n".join(slugs),
            attributes={"mime.type": "text/plain", "iptv.smoke-test": "slugified"},
        )
