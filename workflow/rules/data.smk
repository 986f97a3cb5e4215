# Stage 1, data: each dataset in its real on-disk layout under resources/{dataset}.


rule synthesize:
    output:
        directory("resources/{dataset}"),
    log:
        "results/logs/synthesize/{dataset}.log",
    benchmark:
        "results/benchmarks/synthesize/{dataset}.tsv"
    params:
        args=lambda w: synthesize_arguments(w.dataset),
    threads: 1
    conda:
        "../../envs/aifdepth.yaml"
    shell:
        "aifdepth --threads {threads} synthesize {wildcards.dataset} {output} {params.args} > {log} 2>&1"
