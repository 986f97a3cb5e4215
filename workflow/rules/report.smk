# Stage 5, report: the paper's tables and figures, and the claims report, from the evaluations.


rule table:
    input:
        lambda w: plan.table_evaluations(w.name),
    output:
        tex="results/tables/{name}.tex",
        csv="results/tables/{name}.csv",
        html=report(
            "results/tables/{name}.html",
            caption="../report/table.rst",
            category="Tables",
            labels=lambda w: plan.table_report_labels(w.name),
        ),
    log:
        "results/logs/tables/{name}.log",
    benchmark:
        "results/benchmarks/tables/{name}.tsv"
    wildcard_constraints:
        name="|".join(TABLES),
    localrule: True
    conda:
        "../../envs/aifdepth.yaml"
    params:
        caption=lambda w: plan.table_caption(w.name),
        rows=lambda w: plan.table_rows_option(w.name),  # optional rows the config declares, shell-quoted
    shell:
        "aifdepth table {wildcards.name} --tex {output.tex} --csv {output.csv} --html {output.html} {params.rows} > {log} 2>&1"


rule figure:
    input:
        lambda w: plan.figure_inputs(w.name),
    output:
        pdf="results/figures/{name}.pdf",
        png=report(
            "results/figures/{name}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels=lambda w: plan.figure_report_labels(w.name),
        ),
    log:
        "results/logs/figures/{name}.log",
    benchmark:
        "results/benchmarks/figures/{name}.tsv"
    wildcard_constraints:
        name="|".join(FIGURES),
    localrule: True
    conda:
        "../../envs/aifdepth.yaml"
    params:
        scenes=lambda w: plan.figure_scene_option(w.name),
        caption=lambda w: plan.figure_caption(w.name),
    shell:
        "aifdepth --threads 1 figure {wildcards.name} --pdf {output.pdf} --png {output.png} {params.scenes} > {log} 2>&1"


rule claims:
    input:
        tables=plan.claims_tables(),
        evaluations=plan.evaluation_files(),
    output:
        md="results/claims.md",
        html=report("results/claims.html", caption="../report/claims.rst", category="Claims"),
        pdf="results/figures/claims.pdf",
        png=report("results/figures/claims.png", caption="../report/claims.rst", category="Claims"),
    log:
        "results/logs/claims.log",
    benchmark:
        "results/benchmarks/claims/claims.tsv"
    localrule: True
    conda:
        "../../envs/aifdepth.yaml"
    shell:
        "aifdepth claims --tables {input.tables} --out {output.md} --html {output.html} --pdf {output.pdf} "
        "--png {output.png} {input.evaluations} > {log} 2>&1"


rule report_files:
    input:
        plan.report_files(),


rule seed_spread:
    input:
        tables=plan.claims_tables(),
        evaluations=plan.seed_claims_files(),
    output:
        md="results/seeds.md",
        pdf="results/figures/claims_seeds.pdf",
        png="results/figures/claims_seeds.png",
    log:
        "results/logs/seeds.log",
    localrule: True
    conda:
        "../../envs/aifdepth.yaml"
    shell:
        "aifdepth claims --tables {input.tables} --out {output.md} --pdf {output.pdf} --png {output.png} "
        "{input.evaluations} > {log} 2>&1"


rule seeds:
    input:
        "results/seeds.md",
