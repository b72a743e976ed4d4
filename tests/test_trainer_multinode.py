"""Beyond one process, on the CPU with gloo: two simulated machines (separate torchrun invocations joined by c10d
rendezvous), FSDP2 against DDP, a rank killed mid-step, and resuming on another number of processes.

Every run is tests/distributed_child.py: a tiny BERT classifier (dropout off), 64 examples, 4 optimizer steps of 16
examples (two accumulated micro-batches), gradient clipping active (max_grad_norm 0.05), checkpoints every 2 steps.
Runs are started once per test session and shared by the tests that compare them.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")

CHILD = Path(__file__).with_name("distributed_child.py")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
    [str(Path(__file__).resolve().parents[1] / "src"), os.environ.get("PYTHONPATH", "")])}
TIMEOUT = 240


def torchrun() -> str:
    return shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("multinode")

    @functools.cache
    def run(name: str, processes: int = 1, nodes: int = 1, **settings) -> Path:
        """Train into root/name with ``processes`` per machine on ``nodes`` simulated machines; the folder."""
        folder = root / name
        settings = {"per_device": 16 // (processes * nodes) // 2, **settings}
        command = [str(CHILD), str(folder), json.dumps(settings)]
        if processes * nodes == 1:
            launches = [[sys.executable, *command]]
        elif nodes == 1:
            launches = [[torchrun(), "--standalone", "--nproc_per_node", str(processes), *command]]
        else:
            endpoint = f"localhost:{free_port()}"
            launches = [[torchrun(), "--nnodes", str(nodes), "--nproc_per_node", str(processes), "--rdzv_backend",
                         "c10d", "--rdzv_endpoint", endpoint, "--rdzv_id", name, *command] for _ in range(nodes)]
        started = time.monotonic()
        procs = []
        for launch in launches:
            procs.append(subprocess.Popen(launch, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV))
            time.sleep(1.0)  # the first machine hosts the rendezvous
        outputs = [proc.communicate(timeout=TIMEOUT)[0] for proc in procs]
        (folder / "launch.json").write_text(json.dumps({
            "returncodes": [proc.returncode for proc in procs], "outputs": outputs,
            "seconds": time.monotonic() - started}))
        return folder

    return run


def launch(folder: Path) -> dict:
    return json.loads((folder / "launch.json").read_text())


def succeeded(folder: Path) -> Path:
    record = launch(folder)
    assert record["returncodes"] == [0] * len(record["returncodes"]), "\n".join(o[-3000:] for o in record["outputs"])
    return folder


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "final" / "model.safetensors"))


def assert_same_weights(actual: Path, expected: Path, tolerance: float = 1e-5) -> None:
    a, b = weights(actual), weights(expected)
    assert a.keys() == b.keys()
    for name in b:
        torch.testing.assert_close(a[name], b[name], rtol=tolerance, atol=tolerance, msg=name)


def examples_per_step(folder: Path, per_step_per_process: int) -> list[set[int]]:
    """The training examples of each optimizer step this run took, over all its processes."""
    steps: list[set[int]] = []
    for path in sorted(folder.glob("order-*.json")):
        read = json.loads(path.read_text())
        for step, first in enumerate(range(0, len(read), per_step_per_process)):
            if step == len(steps):
                steps.append(set())
            steps[step] |= set(read[first : first + per_step_per_process])
    return steps


# ---- several machines --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fsdp, per_machine", [("", 1), ("full_shard", 1), ("hybrid_shard", 2)])
def test_two_machines_train_to_the_same_weights_as_one_process_with_the_same_global_batch(runs, fsdp, per_machine):
    """hybrid_shard: shards within each machine's 2 processes, replicates across the machines."""
    one = succeeded(runs("1-procs"))
    two_machines = succeeded(runs(f"two-machines{fsdp}", processes=per_machine, nodes=2, fsdp=fsdp))
    assert_same_weights(two_machines, one)
    assert examples_per_step(two_machines, 8 // per_machine) == examples_per_step(one, 16)
    results = [json.loads((two_machines / f"result-{rank}.json").read_text()) for rank in (0, 1)]
    assert results[0]["metrics"]["eval_loss"] == results[1]["metrics"]["eval_loss"]  # rank 0's, sent to all
    reference = json.loads((one / "result-0.json").read_text())
    assert results[0]["metrics"]["eval_loss"] == pytest.approx(reference["metrics"]["eval_loss"], rel=1e-5)
    assert max(reference["grad_norms"]) > 0.05  # clipping was active
    # batch_eval_metrics: one call per batch of rank 0 (64 examples, 5 per batch), all rows seen once
    batch_metrics = results[0]["batch_metrics"]
    assert batch_metrics["eval_seen"] == 64 and batch_metrics["eval_calls"] == math.ceil(64 / (2 * per_machine) / 5)
    assert batch_metrics["eval_accuracy"] == batch_metrics["reference_accuracy"]
    assert reference["batch_metrics"]["eval_calls"] == 13


# ---- FSDP2 -------------------------------------------------------------------------------------------------


def test_fsdp_equals_ddp_its_sharded_checkpoint_resumes_bit_identically_and_the_folder_loads_in_hf(runs):
    ddp = succeeded(runs("2-procs", processes=2))
    fsdp = succeeded(runs("2-procsfull_shard", processes=2, fsdp="full_shard"))
    assert_same_weights(fsdp, ddp)
    checkpoint = fsdp / "checkpoint-2"
    assert (checkpoint / "sharded_checkpoint.txt").is_file()
    assert sorted(p.name for p in (checkpoint / "sharded").glob("*.distcp")) == ["__0_0.distcp", "__1_0.distcp"]
    resumed = succeeded(runs("two-fsdp-resumed", processes=2, fsdp="full_shard", resume=str(checkpoint)))
    expected, actual = weights(fsdp), weights(resumed)
    assert all(torch.equal(actual[name], expected[name]) for name in expected)  # bit-identical

    config = json.loads((fsdp / "final" / "config.json").read_text())
    assert config["architectures"] == ["BertForSequenceClassification"]  # not FSDP2's subclass
    transformers = pytest.importorskip("transformers")
    assert type(transformers.AutoModelForSequenceClassification.from_pretrained(fsdp / "final")).__name__ == \
        "BertForSequenceClassification"
    hf = transformers.BertForSequenceClassification.from_pretrained(fsdp / "final").eval()
    from tuneformers import BertForSequenceClassification

    ours = BertForSequenceClassification.from_pretrained(fsdp / "final").eval()
    ids = torch.randint(5, 60, (3, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(ours(input_ids=ids).logits, hf(input_ids=ids).logits, rtol=1e-5, atol=1e-5)


# ---- a rank that dies ----------------------------------------------------------------------------------------


def test_a_killed_rank_ends_the_job_with_a_message_naming_it_and_the_last_checkpoint_resumes(runs):
    killed = runs("killed", nodes=2, kill=(3, 1))  # rank 1 is SIGKILLed as step 3 begins
    record = launch(killed)
    assert record["seconds"] < 90 and all(code != 0 for code in record["returncodes"])
    output = "\n".join(record["outputs"])
    assert re.search(r"rank\s*:\s*1 \(local_rank: 0\)\s*\n\s*exitcode\s*:\s*-9", output), output[-3000:]  # torchrun
    assert "Rank 0: training step 3 failed because the process(es) of rank 1 stopped answering" in output
    assert sorted(p.name for p in killed.iterdir() if p.name.startswith("checkpoint")) == ["checkpoint-2"]
    resumed = succeeded(runs("killed-resumed", processes=2, resume=str(killed / "checkpoint-2")))
    assert_same_weights(resumed, succeeded(runs("2-procs", processes=2)))


# ---- another number of processes -------------------------------------------------------------------------------


@pytest.mark.parametrize("fsdp", ["", "full_shard"])
@pytest.mark.parametrize("before, after", [(2, 1), (1, 2)])
def test_a_checkpoint_resumes_on_another_number_of_processes_with_the_same_examples_and_weights(runs, fsdp, before,
                                                                                                after):
    first = succeeded(runs(f"{before}-procs{fsdp}", processes=before, fsdp=fsdp))
    reference = succeeded(runs(f"{after}-procs{fsdp}", processes=after, fsdp=fsdp))
    resumed = succeeded(runs(f"{before}-to-{after}{fsdp}", processes=after, fsdp=fsdp,
                             resume=str(first / "checkpoint-2")))
    assert_same_weights(resumed, reference)
    per_process = 16 // after
    assert examples_per_step(resumed, per_process) == examples_per_step(reference, per_process)[2:]
    assert examples_per_step(first, 16 // before)[2:] == examples_per_step(reference, per_process)[2:]
