# Stage 2, render: every focal stack the experiments need, in the unified stack file.


rule render_stack:
    input:
        lambda w: plan.dataset_root(w.dataset),
    output:
        "results/stacks/{dataset}/{name}.h5",
    log:
        "results/logs/stacks/{dataset}/{name}.log",
    benchmark:
        "results/benchmarks/stacks/{dataset}/{name}.tsv"
    priority: FIRST_PRIORITY
    conda:
        "../../envs/aifdepth.yaml"
    threads: 1
    params:
        args=lambda w: plan.stack_arguments(w.dataset, w.name),
    shell:
        "aifdepth --threads {threads} build-stack {wildcards.dataset} {input} --out {output} {params.args} > {log} 2>&1"


rule stacks:
    input:
        plan.stack_files(),
