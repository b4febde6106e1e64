"""The gradebook's query parameters, checked once for the download and the background export."""
from config.api import validated_all
from console.reports.selectors import gradebook_case_studies
from console.reports.serializers import GradebookOptionsSerializer
from students.listing.selectors import student_file_filterset


def gradebook_request(params):
    """(options, filterset, case studies) of a gradebook request (a QueryDict), every bad
    parameter named in one 400."""
    options, filterset = validated_all(params, GradebookOptionsSerializer, check=student_file_filterset)
    case_studies = gradebook_case_studies(
        case_study_ids=options.get("case_study"), programme_code=filterset.form.cleaned_data.get("programme")
    )
    return options, filterset, case_studies
