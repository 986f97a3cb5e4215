# Stage 5, report: the paper's tables and figures, and the claims report, from the evaluations.

from aifdepth.report.claims import CLAIMS
from aifdepth.report.layout import FIGURES, TABLES


def table_evaluations(name):
    return sorted({cell.evaluation() for cell in TABLES[name].cells()})


def figure_inputs(name):
    panels = FIGURES[name].panels
    return sorted({p.cell.predictions() for p in panels} | {p.cell.stacks() for p in panels})


def claims_tables():
    return sorted({f"results/tables/{name}.csv" for claim in CLAIMS for name in claim.tables})


def report_files():
    tables = [f"results/tables/{name}.{ext}" for name in TABLES for ext in ("tex", "csv")]
    figures = [f"results/figures/{name}.{ext}" for name in FIGURES for ext in ("pdf", "png")]
    return tables + figures + ["results/claims.md"]


rule table:
    input:
        lambda w: table_evaluations(w.name),
    output:
        tex=report("results/tables/{name}.tex", caption="../report/table.rst", category="Tables"),
        csv="results/tables/{name}.csv",
    log:
        "results/logs/tables/{name}.log",
    wildcard_constraints:
        name="|".join(TABLES),
    localrule: True
    conda:
        "../../envs/aifdepth.yaml"
    shell:
        "aifdepth table {wildcards.name} --tex {output.tex} --csv {output.csv} > {log} 2>&1"


rule figure:
    input:
        lambda w: figure_inputs(w.name),
    output:
        pdf="results/figures/{name}.pdf",
        png=report("results/figures/{name}.png", caption="../report/figure.rst", category="Figures"),
    log:
        "results/logs/figures/{name}.log",
    wildcard_constraints:
        name="|".join(FIGURES),
    localrule: True
    conda:
        "../../envs/aifdepth.yaml"
    shell:
        "aifdepth --threads 1 figure {wildcards.name} --pdf {output.pdf} --png {output.png} > {log} 2>&1"


rule claims:
    input:
        tables=claims_tables(),
        evaluations=evaluation_files(),
    output:
        report("results/claims.md", caption="../report/claims.rst", category="Claims"),
    log:
        "results/logs/claims.log",
    localrule: True
    conda:
        "../../envs/aifdepth.yaml"
    shell:
        "aifdepth claims --tables results/tables --out {output} {input.evaluations} > {log} 2>&1"


rule report_files:
    input:
        report_files(),
