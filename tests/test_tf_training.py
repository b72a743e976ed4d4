"""TF training: the optimizer and schedule against the PyTorch side, GLUE from tf.data, Keras fit, TFTrainer,
and the seed's TensorFlow workflow on all-MiniLM-L6-v2."""

from __future__ import annotations

import bz2
import csv
import io

import numpy as np
import pytest

pytestmark = pytest.mark.tf
tf = pytest.importorskip("tensorflow")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import tuneformers  # noqa: E402
from tuneformers import (  # noqa: E402
    AdamWeightDecay,
    BertConfig,
    TFBertForSequenceClassification,
    TFBertForTokenClassification,
    TFTrainer,
    TFTrainingArguments,
    create_optimizer,
    glue_convert_examples_to_features,
)


def load_tokenizer(folder):
    """Our BertTokenizerFast once it exists; HF's (the oracle) as a stand-in until then."""
    try:
        return tuneformers.BertTokenizerFast.from_pretrained(folder)
    except ModuleNotFoundError:
        return transformers.AutoTokenizer.from_pretrained(folder)


def rotten_tomatoes_rows(path, count):
    text = bz2.open(path, "rt", encoding="utf-8").read()
    rows = [row for row in csv.DictReader(io.StringIO(text)) if row["category"] != "plot"]
    return [(row["text"], int(row["category"] == "fresh")) for row in rows[:count]]


def toy_dataset(count=48, seed=0):
    """Variable-length token rows whose label is whether the first token id is above 50."""
    rng = np.random.default_rng(seed)
    rows = [list(rng.integers(5, 99, 3 + (9 * index) // count)) for index in range(count)]  # lengths 3..11
    features = {
        "input_ids": tf.ragged.constant(rows, dtype=tf.int32),
        "attention_mask": tf.ragged.constant([[1] * len(row) for row in rows], dtype=tf.int32),
    }
    labels = np.array([int(row[0] > 50) for row in rows])
    return tf.data.Dataset.from_tensor_slices((features, labels)).map(lambda f, y: (f, y))  # ragged rows -> tensors


# ---- optimizer and schedule ---------------------------------------------------------------------------


def test_schedule_matches_pytorch_linear_warmup():
    from tuneformers import get_linear_schedule_with_warmup

    _, schedule = create_optimizer(1e-3, num_train_steps=20, num_warmup_steps=5)
    torch_optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    torch_schedule = get_linear_schedule_with_warmup(torch_optimizer, 5, 20)
    expected = []
    for _ in range(22):
        expected.append(torch_optimizer.param_groups[0]["lr"])
        torch_optimizer.step()
        torch_schedule.step()
    actual = [float(schedule(step)) for step in range(22)]
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-12)


def test_adam_weight_decay_step_matches_pytorch_adamw():
    """Same decay rule as get_parameter_groups (matrices decay, vectors do not) and the same update."""
    from tuneformers import AdamW, get_parameter_groups

    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(3,)).astype(np.float32)
    grads = [rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(3,)).astype(np.float32)]

    tf_vars = [tf.keras.Variable(kernel, name="kernel"), tf.keras.Variable(bias, name="bias")]
    optimizer = AdamWeightDecay(learning_rate=0.1, weight_decay_rate=0.5, epsilon=1e-8)
    for _ in range(2):
        optimizer.apply_gradients(zip([tf.constant(g) for g in grads], tf_vars))

    linear = torch.nn.Linear(4, 3)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(kernel.T))
        linear.bias.copy_(torch.from_numpy(bias))
    torch_optimizer = AdamW(get_parameter_groups(linear, 0.5), lr=0.1, eps=1e-8)
    for _ in range(2):
        linear.weight.grad, linear.bias.grad = torch.from_numpy(grads[0].T.copy()), torch.from_numpy(grads[1])
        torch_optimizer.step()
    np.testing.assert_allclose(tf_vars[0].numpy(), linear.weight.detach().numpy().T, atol=1e-6)
    np.testing.assert_allclose(tf_vars[1].numpy(), linear.bias.detach().numpy(), atol=1e-6)
    assert not np.allclose(tf_vars[0].numpy(), kernel, atol=1e-2)  # the step did move the weights


def test_keras_fit_steps_equal_pytorch_training_steps(tiny_bert_kwargs):
    """Same weights, batches and recipe (AdamW, weight decay 0.01, warm-up 2 + linear decay over 6 steps,
    grad-norm clip 1.0): Keras fit and the PyTorch loop end at the same weights."""
    from tuneformers import AdamW, BertForSequenceClassification, get_linear_schedule_with_warmup, get_parameter_groups
    from tuneformers.modeling_tf_pytorch_utils import pt_weights_to_tf

    kwargs = {**tiny_bert_kwargs, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    torch.manual_seed(0)
    pt_model = BertForSequenceClassification(BertConfig(**kwargs)).train()
    tf_model = TFBertForSequenceClassification(BertConfig(**kwargs))
    tf_model.load_tf_weights(pt_weights_to_tf({k: v.detach().numpy() for k, v in pt_model.state_dict().items()}, "bert"))
    rng = np.random.default_rng(0)
    input_ids = rng.integers(1, 99, (6, 8, 10)).astype(np.int32)  # 6 batches of 8
    input_ids[:, 0, 7:] = 0
    attention_mask = (input_ids != 0).astype(np.int32)
    labels = rng.integers(0, 2, (6, 8))

    optimizer = AdamW(get_parameter_groups(pt_model, 0.01), lr=1e-3, eps=1e-8)
    schedule = get_linear_schedule_with_warmup(optimizer, 2, 6)
    for step in range(6):
        loss = pt_model(input_ids=torch.from_numpy(input_ids[step]).long(),
                        attention_mask=torch.from_numpy(attention_mask[step]).long(),
                        labels=torch.from_numpy(labels[step])).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(pt_model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()

    tf_optimizer, _ = create_optimizer(1e-3, 6, 2, weight_decay_rate=0.01, adam_epsilon=1e-8, global_clipnorm=1.0)
    tf_model.compile(optimizer=tf_optimizer)
    tf_model.fit(tf.data.Dataset.from_tensor_slices(({"input_ids": input_ids, "attention_mask": attention_mask}, labels)),
                 epochs=1, verbose=0)
    tf_weights = tf_model.tf_named_weights()
    for pt_name, tensor in pt_model.state_dict().items():
        tf_name, transpose = tuneformers.models.bert.convert_bert.pt_to_tf_name(pt_name)
        expected = tensor.numpy().T if transpose else tensor.numpy()
        np.testing.assert_allclose(tf_weights[tf_name].numpy(), expected, atol=1e-6, err_msg=pt_name)


def test_no_decay_for_biases_and_layer_norm(tiny_bert_kwargs):
    """With zero gradients only the decay moves weights: kernels and embeddings shrink, vectors stay."""
    model = TFBertForSequenceClassification(BertConfig(**tiny_bert_kwargs))
    named = model.tf_named_weights()
    before = {name: variable.numpy() for name, variable in named.items()}
    optimizer = AdamWeightDecay(learning_rate=0.1, weight_decay_rate=0.5)
    optimizer.apply_gradients([(tf.zeros_like(variable), variable) for variable in named.values()])
    for name, variable in named.items():
        factor = 1.0 if variable.shape.rank < 2 else 0.95
        np.testing.assert_allclose(variable.numpy(), before[name] * factor, rtol=1e-6, err_msg=name)
    assert {name.rsplit("/", 1)[-1] for name, v in named.items() if v.shape.rank < 2} == {"gamma", "beta", "bias"}


# ---- GLUE from tf.data ----------------------------------------------------------------------------------


def test_glue_pairs_from_tfds_layout(minilm_dir):
    tokenizer = load_tokenizer(minilm_dir)
    pairs = [("The cat sat on the mat.", "A cat was sitting on a mat."), ("Stocks fell.", "Rain is expected later today.")]
    data = tf.data.Dataset.from_tensor_slices({
        "sentence1": [a for a, _ in pairs], "sentence2": [b for _, b in pairs], "label": [1, 0], "idx": [0, 1],
    })
    dataset = glue_convert_examples_to_features(data, tokenizer, max_length=128, task="mrpc")
    (features, labels), = dataset.batch(2).take(1).as_numpy_iterator()
    expected = transformers.AutoTokenizer.from_pretrained(minilm_dir)(
        [a for a, _ in pairs], [b for _, b in pairs], padding="longest", return_tensors="np")
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        np.testing.assert_array_equal(features[key], expected[key])
    np.testing.assert_array_equal(labels, [1, 0])

    fixed = glue_convert_examples_to_features(data, tokenizer, max_length=40, task="mrpc")
    variable = tuneformers.data.processors.glue_tf.convert_tf_dataset(data, tokenizer, 40, "mrpc", padding=False)
    assert fixed.element_spec[0]["input_ids"].shape == (features["input_ids"].shape[1],)
    assert variable.element_spec[0]["input_ids"].shape.as_list() == [None]
    from tuneformers.data.processors.glue_tf import convert_tf_dataset

    padded = convert_tf_dataset(data, tokenizer, 40, "mrpc", padding="max_length")
    assert padded.element_spec[0]["input_ids"].shape == (40,)


def test_glue_single_sentences_and_unlabelled_rows(minilm_dir):
    tokenizer = load_tokenizer(minilm_dir)
    data = tf.data.Dataset.from_tensor_slices({"sentence": ["good film", "a dull, overlong mess"], "label": [-1, -1]})
    dataset = glue_convert_examples_to_features(data, tokenizer, max_length=16, task="sst-2")
    assert set(dataset.element_spec) == {"input_ids", "attention_mask", "token_type_ids"}  # features only
    regression = tf.data.Dataset.from_tensor_slices({"sentence1": ["a", "b"], "sentence2": ["c", "d"], "label": [0.5, 4.2]})
    (_, labels), = glue_convert_examples_to_features(regression, tokenizer, 16, task="sts-b").batch(2).as_numpy_iterator()
    np.testing.assert_allclose(labels, [0.5, 4.2], rtol=1e-6)
    with pytest.raises(KeyError, match="No GLUE text fields"):
        glue_convert_examples_to_features(tf.data.Dataset.from_tensor_slices({"text": ["x"]}), tokenizer, 16,
                                          label_list=["0", "1"])


# ---- Keras fit -------------------------------------------------------------------------------------------


def test_fit_on_internal_loss_with_dynamic_padding(tiny_bert_kwargs):
    """compile(optimizer) with no loss: the model's own loss, labels as y or inside the features dict;
    batches padded per batch by padded_batch."""
    tf.keras.utils.set_random_seed(0)
    model = TFBertForSequenceClassification(BertConfig(**tiny_bert_kwargs))
    batches = toy_dataset().padded_batch(16)
    assert len({features["input_ids"].shape[1] for features, _ in batches}) > 1  # batches differ in length
    labels_inside = batches.map(lambda features, labels: {**features, "labels": labels})
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3))
    before = model.evaluate(labels_inside, verbose=0)
    model.fit(batches, epochs=4, verbose=0)
    assert model.evaluate(labels_inside, verbose=0) < before - 0.02


def test_fit_token_classification_with_keras_loss_and_metric(tiny_bert_kwargs):
    model = TFBertForTokenClassification(BertConfig(**tiny_bert_kwargs, num_labels=3))
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 99, (32, 8)).astype(np.int32)
    labels = ids % 3
    model.compile(optimizer=tf.keras.optimizers.Adam(3e-3),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[tf.keras.metrics.SparseCategoricalAccuracy("accuracy")])
    history = model.fit({"input_ids": ids}, labels, batch_size=8, epochs=2, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert model.predict({"input_ids": ids[:4]}, verbose=0).logits.shape == (4, 8, 3)


# ---- TFTrainer ---------------------------------------------------------------------------------------------


def accuracy(prediction):
    return {"accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())}


def test_tf_trainer_trains_evaluates_and_logs(tiny_bert_kwargs, tmp_path):
    args = TFTrainingArguments(
        output_dir=str(tmp_path), num_train_epochs=2, per_device_train_batch_size=16, learning_rate=2e-3,
        warmup_ratio=0.1, weight_decay=0.01, logging_steps=1, eval_strategy="epoch", save_strategy="epoch",
        save_total_limit=1,
    )
    trainer = TFTrainer(
        model_init=lambda: TFBertForSequenceClassification(BertConfig(**tiny_bert_kwargs)), args=args,
        train_dataset=toy_dataset(), eval_dataset=toy_dataset(), compute_metrics=accuracy,
    )
    before = trainer.evaluate()
    result = trainer.train()
    after = trainer.evaluate()
    assert result.global_step == 6
    assert set(before) == {"eval_loss", "eval_accuracy"}
    assert after["eval_loss"] < before["eval_loss"]
    assert result.metrics["val_accuracy"][-1] == pytest.approx(after["eval_accuracy"])
    assert list((tmp_path / "logs" / "train").glob("events.out.tfevents.*"))
    assert list((tmp_path / "logs" / "validation").glob("events.out.tfevents.*"))
    assert [path.name for path in tmp_path.glob("checkpoint-*")] == ["checkpoint-6"]
    reloaded = TFBertForSequenceClassification.from_pretrained(tmp_path / "checkpoint-6")
    output = TFTrainer(reloaded, TFTrainingArguments(output_dir=str(tmp_path)), compute_metrics=accuracy).predict(
        toy_dataset())
    assert output.predictions.shape == (48, 2)
    assert output.metrics["test_accuracy"] == pytest.approx(after["eval_accuracy"])


def test_tf_trainer_mirrored_strategy_max_steps(tiny_bert_kwargs, tmp_path):
    args = TFTrainingArguments(output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=8,
                               strategy="mirrored")
    assert isinstance(args.strategy_object, tf.distribute.MirroredStrategy)
    trainer = TFTrainer(model_init=lambda: TFBertForSequenceClassification(BertConfig(**tiny_bert_kwargs)),
                        args=args, train_dataset=toy_dataset(), eval_dataset=toy_dataset(), compute_metrics=accuracy)
    assert trainer.train().global_step == 2
    assert set(trainer.evaluate()) == {"eval_loss", "eval_accuracy"}


def test_tf_trainer_errors(tiny_bert_kwargs, tmp_path):
    model = TFBertForSequenceClassification(BertConfig(**tiny_bert_kwargs))
    with pytest.raises(ValueError, match="outside the MirroredStrategy scope"):
        TFTrainer(model, TFTrainingArguments(output_dir=str(tmp_path), strategy="mirrored"))
    with pytest.raises(ValueError, match="eval_strategy='steps'"):
        TFTrainingArguments(eval_strategy="steps")
    with pytest.raises(ValueError, match="exactly one of model= or model_init="):
        TFTrainer(args=TFTrainingArguments(output_dir=str(tmp_path)))


# ---- the seed's TensorFlow workflow ------------------------------------------------------------------------


@pytest.mark.slow
def test_seed_tf_workflow_on_minilm(minilm_dir, rotten_tomatoes_file, tmp_path):
    """glue features from tf.data -> compile with a Keras loss -> fit -> save_pretrained -> PyTorch from_tf=True."""
    tokenizer = load_tokenizer(minilm_dir)
    rows = rotten_tomatoes_rows(rotten_tomatoes_file, 64)
    data = tf.data.Dataset.from_tensor_slices(
        {"sentence": [text for text, _ in rows], "label": [label for _, label in rows], "idx": list(range(len(rows)))}
    )
    model = TFBertForSequenceClassification.from_pretrained(minilm_dir, num_labels=2)
    train_dataset = glue_convert_examples_to_features(data, tokenizer, max_length=128, task="sst-2")
    train_dataset = train_dataset.shuffle(100, seed=0).batch(16).repeat(2)
    optimizer = tf.keras.optimizers.Adam(learning_rate=3e-5, epsilon=1e-08, clipnorm=1.0)
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    metric = tf.keras.metrics.SparseCategoricalAccuracy("accuracy")
    model.compile(optimizer=optimizer, loss=loss, metrics=[metric])
    eval_dataset = glue_convert_examples_to_features(data, tokenizer, max_length=128, task="sst-2").batch(64)
    before = model.evaluate(eval_dataset, verbose=0, return_dict=True)["loss"]
    history = model.fit(train_dataset, epochs=2, steps_per_epoch=4, validation_data=eval_dataset, validation_steps=1,
                        verbose=0)
    assert history.history["val_loss"][-1] < before

    model.save_pretrained(tmp_path)
    pytorch_model = tuneformers.BertForSequenceClassification.from_pretrained(tmp_path, from_tf=True)
    sentence_0 = "This research was consistent with his findings."
    sentence_1 = "His findings were compatible with this research."
    inputs = transformers.AutoTokenizer.from_pretrained(minilm_dir)(sentence_0, sentence_1, return_tensors="pt")
    with torch.no_grad():
        pt_logits = pytorch_model(**inputs)[0].numpy()
    tf_logits = model({key: value.numpy() for key, value in inputs.items()}).logits.numpy()
    np.testing.assert_allclose(pt_logits, tf_logits, atol=1e-5, rtol=0)
    assert pt_logits.argmax() == tf_logits.argmax()
