"""Prompt templates (``rlvr.prompts``): YAML files in this package plus plug-ins (group ``rlvr.prompts``)."""

from rlvr.prompts.template import TEMPLATES, FewShot, PromptTemplate, get_template, load_template_file

__all__ = ["TEMPLATES", "FewShot", "PromptTemplate", "get_template", "load_template_file"]
