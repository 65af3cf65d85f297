"""Forms of the census import page: the upload, and the confirmation of the file checked."""
from django import forms
from django.utils.translation import gettext_lazy as _

from onboarding.reading import MAX_BYTES, file_format


class CensusUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Census file (CSV or XLSX)"),
        help_text=_("Up to 5 MB. Nothing is imported until you confirm the dry run."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        file_format(upload.name)  # raises "Upload a .csv or .xlsx file."
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB; split it."),
                                        code="too_big")
        return upload


class CensusCommitForm(forms.Form):
    sha256 = forms.RegexField(regex=r"^[0-9a-f]{64}$", widget=forms.HiddenInput)
