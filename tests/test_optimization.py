"""AdamW against torch.optim.AdamW and a hand-computed BERT-Adam reference; schedules against published values."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

from tuneformers.optimization import (
    SCHEDULER_NAMES,
    AdamW,
    get_constant_schedule,
    get_constant_schedule_with_warmup,
    get_cosine_schedule_with_warmup,
    get_cosine_with_hard_restarts_schedule_with_warmup,
    get_linear_schedule_with_warmup,
    get_parameter_groups,
    get_polynomial_decay_schedule_with_warmup,
    get_scheduler,
)


def small_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Embedding(11, 8),
        torch.nn.Linear(8, 16),
        torch.nn.LayerNorm(16),
        torch.nn.GELU(),
        torch.nn.Linear(16, 3),
    )


def max_param_difference(a: torch.nn.Module, b: torch.nn.Module) -> float:
    return max((x - y).abs().max().item() for x, y in zip(a.parameters(), b.parameters()))


def train_pair(model_a, model_b, optimizer_a, optimizer_b, steps, make_loss):
    for step in range(steps):
        for model, optimizer in ((model_a, optimizer_a), (model_b, optimizer_b)):
            optimizer.zero_grad()
            torch.manual_seed(step)  # same batch (and dropout mask) for both models
            make_loss(model).backward()
            optimizer.step()


def tiny_loss(model):
    tokens = torch.randint(0, 11, (4, 5))
    return model(tokens).mean(dim=1).pow(2).sum()


# ---------------------------------------------------------------------------------------------- AdamW


@pytest.mark.parametrize(
    "kernel", [dict(foreach=False), dict(foreach=True), dict()], ids=["loop", "foreach", "default-fused"]
)
def test_adamw_matches_torch_adamw_on_tiny_model(kernel):
    ours_model, torch_model = small_model(), small_model()
    ours = AdamW(get_parameter_groups(ours_model, 0.1), lr=3e-3, betas=(0.8, 0.99), eps=1e-7, **kernel)
    reference = torch.optim.AdamW(get_parameter_groups(torch_model, 0.1), lr=3e-3, betas=(0.8, 0.99), eps=1e-7)
    before = copy.deepcopy(ours_model)
    train_pair(ours_model, torch_model, ours, reference, 100, tiny_loss)
    assert max_param_difference(ours_model, torch_model) <= 1e-6
    assert max_param_difference(ours_model, before) > 1e-2  # it really trained


@pytest.mark.gpu
def test_adamw_runs_the_fused_kernel_on_cuda_by_default_and_matches_torch():
    ours_model, torch_model = small_model().cuda(), small_model().cuda()
    ours = AdamW(get_parameter_groups(ours_model, 0.1), lr=3e-3)
    reference = torch.optim.AdamW(get_parameter_groups(torch_model, 0.1), lr=3e-3, eps=1e-6, foreach=True)
    train_pair(ours_model, torch_model, ours, reference, 20,
               lambda model: model(torch.randint(0, 11, (4, 5)).cuda()).mean(dim=1).pow(2).sum())
    assert all(state["step"].device.type == "cuda" for state in ours.state.values())  # the fused kernel's layout
    assert max_param_difference(ours_model, torch_model) <= 1e-5


def test_correct_bias_false_matches_hand_computed_bert_adam():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(3, 4))
    grads = rng.normal(size=(6, 3, 4))
    lr, beta1, beta2, eps, decay = 0.05, 0.9, 0.98, 1e-6, 0.3

    param = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
    optimizer = AdamW([param], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=decay, correct_bias=False)
    expected, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    for grad in grads:
        param.grad = torch.tensor(grad)
        optimizer.step()
        # google-research/bert AdamWeightDecayOptimizer: no bias correction, decay on the old weight.
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        expected = expected - lr * (m / (np.sqrt(v) + eps) + decay * expected)
    np.testing.assert_allclose(param.detach().numpy(), expected, rtol=0, atol=1e-12)
    assert optimizer.state[param]["step"].item() == len(grads)


def test_correct_bias_false_differs_from_corrected_update():
    a, b = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(3))
    for param, correct in ((a, True), (b, False)):
        param.grad = torch.full((3,), 0.5)
        AdamW([param], lr=0.1, correct_bias=correct).step()
    # first step: corrected moves by lr; uncorrected by lr * (1 - b1) / sqrt(1 - b2) ~ 3.16 lr
    torch.testing.assert_close(a.detach(), torch.full((3,), 0.9), rtol=0, atol=1e-5)
    torch.testing.assert_close(b.detach(), torch.full((3,), 1 - 0.1 * 0.05 / (0.00025**0.5 + 1e-6)), rtol=0, atol=1e-5)


def test_adamw_state_dict_round_trip_continues_identically():
    model_a = small_model()
    optimizer_a = AdamW(get_parameter_groups(model_a, 0.01), lr=1e-2, correct_bias=False)
    for step in range(3):
        optimizer_a.zero_grad()
        torch.manual_seed(step)
        tiny_loss(model_a).backward()
        optimizer_a.step()
    model_b = copy.deepcopy(model_a)
    optimizer_b = AdamW(get_parameter_groups(model_b, 0.5), lr=1.0)  # hyper-parameters come from the state
    optimizer_b.load_state_dict(pickle.loads(pickle.dumps(optimizer_a.state_dict())))
    assert optimizer_b.param_groups[0]["correct_bias"] is False
    assert optimizer_b.param_groups[0]["weight_decay"] == 0.01
    train_pair(model_a, model_b, optimizer_a, optimizer_b, 5, tiny_loss)
    assert max_param_difference(model_a, model_b) == 0.0


def test_adamw_rejects_bad_hyperparameters():
    params = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match="lr=-1"):
        AdamW(params, lr=-1)
    with pytest.raises(ValueError, match="betas"):
        AdamW(params, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="not both"):
        AdamW(params, foreach=True, fused=True)
    with pytest.raises(ValueError, match="correct_bias=True"):
        AdamW(params, fused=True, correct_bias=False)


def test_parameter_groups_rule_no_decay_for_one_dimensional_parameters(tiny_bert_kwargs):
    from tuneformers import BertConfig, BertForSequenceClassification

    model = BertForSequenceClassification(BertConfig(**tiny_bert_kwargs, num_labels=2))
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    decay, no_decay = get_parameter_groups(model, 0.01)
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    # The ndim rule agrees with the usual name rule ("bias" or "LayerNorm") on BERT.
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert sorted(no_decay["names"]) == sorted(n for n in trainable if "bias" in n or "LayerNorm" in n)
    assert sorted(decay["names"] + no_decay["names"]) == sorted(trainable)
    assert "bert.embeddings.word_embeddings.weight" not in decay["names"]  # frozen ones are left out
    assert "bert.embeddings.position_embeddings.weight" in decay["names"]
    with pytest.raises(ValueError, match="no trainable parameters"):
        get_parameter_groups(model.requires_grad_(False), 0.01)


@pytest.mark.slow
def test_adamw_matches_torch_adamw_on_minilm_for_100_steps(minilm_dir):
    from tuneformers import BertForSequenceClassification

    torch.manual_seed(0)
    ours_model = BertForSequenceClassification.from_pretrained(minilm_dir, num_labels=2)
    torch_model = copy.deepcopy(ours_model)
    ours = AdamW(get_parameter_groups(ours_model, 0.01), lr=2e-5, correct_bias=True)
    reference = torch.optim.AdamW(get_parameter_groups(torch_model, 0.01), lr=2e-5, eps=1e-6)
    ours_model.train(), torch_model.train()
    before = copy.deepcopy(ours_model.classifier)

    def loss(model):
        input_ids = torch.randint(1000, 5000, (2, 8))
        return model(input_ids=input_ids, labels=torch.randint(0, 2, (2,))).loss

    train_pair(ours_model, torch_model, ours, reference, 100, loss)
    assert max_param_difference(ours_model, torch_model) <= 1e-6
    assert max_param_difference(ours_model.classifier, before) > 1e-4


# ------------------------------------------------------------------------------------------ schedules


def learning_rates(make_scheduler, steps: int = 10, lr: float = 10.0) -> list[float]:
    optimizer = AdamW([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = make_scheduler(optimizer)
    rates = []
    for _ in range(steps):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return rates


# lr 10, warm-up 2, 10 training steps (the published reference values).
PUBLISHED = {
    "linear": (
        lambda o: get_linear_schedule_with_warmup(o, 2, 10),
        [0.0, 5.0, 10.0, 8.75, 7.5, 6.25, 5.0, 3.75, 2.5, 1.25],
    ),
    "cosine": (
        lambda o: get_cosine_schedule_with_warmup(o, 2, 10),
        [0.0, 5.0, 10.0, 9.61, 8.53, 6.91, 5.0, 3.08, 1.46, 0.38],
    ),
    "constant": (get_constant_schedule, [10.0] * 10),
    "constant_with_warmup": (lambda o: get_constant_schedule_with_warmup(o, 2), [0.0, 5.0] + [10.0] * 8),
    "cosine_with_restarts": (
        lambda o: get_cosine_with_hard_restarts_schedule_with_warmup(o, 2, 10, num_cycles=2),
        [0.0, 5.0, 10.0, 8.53, 5.0, 1.46, 10.0, 8.53, 5.0, 1.46],
    ),
    "polynomial": (
        lambda o: get_polynomial_decay_schedule_with_warmup(o, 2, 10, power=2.0, lr_end=1e-7),
        [0.0, 5.0, 10.0, 7.656, 5.625, 3.906, 2.5, 1.406, 0.625, 0.156],
    ),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_schedules_match_published_values(name):
    make, expected = PUBLISHED[name]
    np.testing.assert_allclose(learning_rates(make), expected, atol=1e-2, rtol=0)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("linear", {}),
        ("cosine", {"num_cycles": 0.7}),
        ("cosine_with_restarts", {"num_cycles": 3}),
        ("polynomial", {"power": 1.5, "lr_end": 0.5}),
        ("constant", {}),
        ("constant_with_warmup", {}),
    ],
)
def test_schedules_match_transformers_over_a_long_run(name, kwargs):
    from transformers import optimization as hf

    warmup = 0 if name == "constant" else 7
    total = None if name.startswith("constant") else 50
    ours = learning_rates(lambda o: get_scheduler(name, o, warmup, total, **kwargs), steps=60, lr=3.0)
    oracle = learning_rates(
        lambda o: hf.get_scheduler(
            name, o, num_warmup_steps=warmup, num_training_steps=total, scheduler_specific_kwargs=kwargs
        ),
        steps=60,
        lr=3.0,
    )
    np.testing.assert_allclose(ours, oracle, atol=1e-12, rtol=0)


@pytest.mark.parametrize("name", SCHEDULER_NAMES)
def test_schedulers_pickle_and_state_dict_round_trip(name):
    model = torch.nn.Linear(2, 2)
    optimizer = AdamW(model.parameters(), lr=1.0)
    scheduler = get_scheduler(name, optimizer, num_warmup_steps=3, num_training_steps=20)
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    copied = pickle.loads(pickle.dumps(scheduler))
    assert copied.get_last_lr() == scheduler.get_last_lr()

    fresh_optimizer = AdamW(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    resumed = get_scheduler(name, fresh_optimizer, num_warmup_steps=3, num_training_steps=20)
    resumed.load_state_dict(pickle.loads(pickle.dumps(scheduler.state_dict())))
    for _ in range(10):
        for opt, sched in ((optimizer, scheduler), (fresh_optimizer, resumed), (copied.optimizer, copied)):
            opt.step()
            sched.step()
        assert resumed.get_last_lr() == scheduler.get_last_lr() == copied.get_last_lr()
        assert fresh_optimizer.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]


def test_get_scheduler_errors_name_the_problem():
    optimizer = AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match="'linearr'.*linear, cosine, cosine_with_restarts, polynomial, constant"):
        get_scheduler("linearr", optimizer, 1, 10)
    with pytest.raises(ValueError, match="needs num_warmup_steps"):
        get_scheduler("cosine", optimizer, num_training_steps=10)
    with pytest.raises(ValueError, match="needs num_training_steps"):
        get_scheduler("linear", optimizer, num_warmup_steps=1)
    with pytest.raises(ValueError, match="lr_end"):
        get_scheduler("polynomial", optimizer, 1, 10, lr_end=2.0)
    with pytest.raises(ValueError, match="num_warmup_steps must be a number of steps >= 0, got -1"):
        get_linear_schedule_with_warmup(optimizer, -1, 10)
    with pytest.raises(ValueError, match="num_training_steps must be a number of steps >= 0, got '10'"):
        get_linear_schedule_with_warmup(optimizer, 1, "10")
    float_steps = get_linear_schedule_with_warmup(optimizer, 2, 16.0)  # v3's run_squad: len(loader) * epochs
    assert float_steps.lr_lambdas[0](1) == 0.5 and float_steps.lr_lambdas[0](9) == 0.5
    get_scheduler("constant", optimizer)  # needs neither
