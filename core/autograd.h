// Reverse-mode automatic differentiation.
//
// Every differentiable op that sees an input with requires_grad (and grad
// mode on) creates one Node: it saves what its backward needs and points to
// the nodes of its inputs (`next`). Tensor::backward() walks those nodes in
// reverse topological order (the tape), hands each the gradient of its
// output, and accumulates the results into the leaves' .grad. Each node
// drops its saved tensors as soon as its backward has run, so the memory of
// the forward pass is returned while the backward pass proceeds.
//
// Conventions: one differentiable output per op; backward returns one
// gradient per input, undefined where that input needs none; gradients are
// computed with grad mode off (no higher-order derivatives).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace posenet {

class Node {
 public:
  virtual ~Node() = default;
  virtual const char* name() const = 0;
  // grad_output has the shape of this node's output.
  virtual std::vector<Tensor> backward(const Tensor& grad_output) = 0;
  // Drops saved tensors once backward has used them.
  virtual void release() {}

  // The producers of this op's inputs, in input order (nullptr: no grad).
  std::vector<std::shared_ptr<Node>> next;
  bool released = false;
};

// Adds incoming gradients into a leaf tensor's .grad.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {}
  const char* name() const override { return "AccumulateGrad"; }
  std::vector<Tensor> backward(const Tensor& grad_output) override;

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

// While alive on a thread, backward passes there call `hook` with each leaf
// whose .grad they have just completed (all of its incoming gradients
// added), in the order the pass completes them: data-parallel training
// starts averaging gradients while the rest of the backward pass runs.
class GradReadyScope {
 public:
  using Hook = std::function<void(const Tensor& leaf)>;
  explicit GradReadyScope(Hook hook);
  ~GradReadyScope();
  GradReadyScope(const GradReadyScope&) = delete;
  GradReadyScope& operator=(const GradReadyScope&) = delete;

 private:
  const Hook* previous_;
  Hook hook_;
};

// Grad mode is per thread; NoGradGuard turns it off for a scope (inference,
// optimizer steps, evaluation).
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when an op with these inputs must record a node.
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);

// Connects `node` to the inputs' producers and makes it `output`'s grad_fn.
void record(Tensor& output, std::shared_ptr<Node> node, std::initializer_list<const Tensor*> inputs);

// The node that feeds gradients into `t` (its grad_fn, or a leaf's
// accumulator), or nullptr when t needs no gradient.
std::shared_ptr<Node> gradient_edge(const Tensor& t);

void run_backward(const Tensor& root);

}  // namespace posenet
