# Stage 1, data: each dataset in its real on-disk layout under resources/{dataset}, from the
# source config.yaml names: synthesized (embedded), downloaded and unpacked, or linked from a
# folder the user already has.


rule synthesize:
    output:
        directory("resources/{dataset}"),
    log:
        "results/logs/synthesize/{dataset}.log",
    benchmark:
        "results/benchmarks/synthesize/{dataset}.tsv"
    wildcard_constraints:
        dataset=plan.datasets_from("synthetic"),
    priority: FIRST_PRIORITY
    conda:
        "../../envs/aifdepth.yaml"
    threads: 1
    params:
        args=lambda w: plan.synthesize_arguments(w.dataset),
    shell:
        "aifdepth --threads {threads} synthesize {wildcards.dataset} {output} {params.args} > {log} 2>&1"


rule download:
    output:
        "resources/downloads/{dataset}/{name}",
    log:
        "results/logs/download/{dataset}/{name}.log",
    wildcard_constraints:
        dataset=plan.datasets_from("download"),
    localrule: True  # cluster nodes often have no internet; the login node does the fetching
    conda:
        "../../envs/aifdepth.yaml"
    params:
        mirror=lambda w: plan.mirror_option(w.dataset),
        checksums=CHECKSUMS,
    shell:
        "aifdepth download {wildcards.dataset} {wildcards.name} --out {output} --checksums {params.checksums}"
        " {params.mirror} > {log} 2>&1"


rule unpack:
    input:
        lambda w: plan.downloaded_files(w.dataset),
    output:
        directory("resources/{dataset}"),
    log:
        "results/logs/unpack/{dataset}.log",
    wildcard_constraints:
        dataset=plan.datasets_from("download"),
    conda:
        "../../envs/aifdepth.yaml"
    shell:
        "aifdepth unpack {wildcards.dataset} {input} --out {output} > {log} 2>&1"


rule link:
    output:
        directory("resources/{dataset}"),
    log:
        "results/logs/link/{dataset}.log",
    wildcard_constraints:
        dataset=plan.datasets_from("manual"),
    localrule: True
    conda:
        "../../envs/aifdepth.yaml"
    params:
        path=lambda w: plan.manual_path(w.dataset),
    shell:
        "aifdepth link {wildcards.dataset} {params.path:q} --out {output} > {log} 2>&1"
