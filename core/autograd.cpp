#include "core/autograd.h"

#include <unordered_map>

namespace posenet {

namespace {
thread_local bool g_grad_enabled = true;
thread_local const GradReadyScope::Hook* g_grad_ready = nullptr;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

std::vector<Tensor> AccumulateGrad::backward(const Tensor& grad_output) {
  PN_CHECK(grad_output.shape() == leaf_->shape, "gradient of shape ", shape_str(grad_output.shape()),
           " for a parameter of shape ", shape_str(leaf_->shape));
  Tensor spare = std::move(leaf_->spare_grad);
  leaf_->spare_grad = Tensor();
  if (!leaf_->grad.defined() && spare.defined() && spare.dtype() == grad_output.dtype() &&
      spare.device() == grad_output.device()) {
    // The buffer of the last step's gradient (Tensor::drop_grad_keeping_buffer):
    // the gradient is copied there, so .grad keeps its address.
    spare.copy_(grad_output);
    leaf_->grad = spare;
  } else if (!leaf_->grad.defined()) {
    // A gradient that nothing else references (the usual case: a fresh
    // weight gradient) becomes .grad as is; one still shared with another
    // consumer or an op's saved state is copied, since .grad is later
    // accumulated into in place.
    const TensorImpl* g = grad_output.impl();
    const bool exclusive = grad_output.impl_ptr().use_count() == 1 && g->storage.use_count() == 1 &&
                           g->offset_bytes == 0 && !g->grad_fn && !g->requires_grad;
    leaf_->grad = exclusive ? grad_output : grad_output.clone();
  } else {
    leaf_->grad.add_(grad_output);
  }
  if (g_grad_ready != nullptr) (*g_grad_ready)(Tensor(leaf_));
  return {};
}

GradReadyScope::GradReadyScope(Hook hook) : previous_(g_grad_ready), hook_(std::move(hook)) { g_grad_ready = &hook_; }

GradReadyScope::~GradReadyScope() { g_grad_ready = previous_; }

bool any_requires_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  TensorImpl* impl = t.impl();
  if (impl->grad_fn) return impl->grad_fn;
  if (auto acc = impl->grad_accumulator.lock()) return acc;
  auto acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
  impl->grad_accumulator = acc;
  return acc;
}

void record(Tensor& output, std::shared_ptr<Node> node, std::initializer_list<const Tensor*> inputs) {
  node->next.clear();
  for (const Tensor* t : inputs) node->next.push_back(t ? gradient_edge(*t) : nullptr);
  output.set_grad_fn(std::move(node));
}

void run_backward(const Tensor& root) {
  PN_CHECK(root.defined(), "backward() on an undefined tensor");
  PN_CHECK(root.numel() == 1, "backward() needs a one-element loss, got shape ", shape_str(root.shape()));
  PN_CHECK(root.requires_grad(), "backward() on a tensor that does not require grad");
  std::shared_ptr<Node> start = gradient_edge(root);

  // Count, for every node reachable from the root, how many consumers will
  // send it a gradient; a node runs once all of them have.
  std::unordered_map<Node*, int> pending;
  std::vector<Node*> stack{start.get()};
  pending[start.get()] = 0;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (auto& next : n->next) {
      if (!next) continue;
      auto it = pending.find(next.get());
      if (it == pending.end()) {
        pending[next.get()] = 1;
        stack.push_back(next.get());
      } else {
        ++it->second;
      }
    }
  }

  NoGradGuard no_grad;
  std::unordered_map<Node*, Tensor> grads;
  grads[start.get()] = Tensor::full(root.shape(), 1.0, root.dtype(), root.device());
  std::vector<Node*> ready{start.get()};
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    PN_CHECK(!n->released, "backward() through the graph a second time: its saved tensors were already freed (",
             n->name(), ")");
    Tensor g = std::move(grads[n]);
    grads.erase(n);
    std::vector<Tensor> input_grads = n->backward(g);
    n->release();
    if (dynamic_cast<AccumulateGrad*>(n) == nullptr) n->released = true;
    for (size_t i = 0; i < n->next.size(); ++i) {
      Node* next = n->next[i].get();
      if (!next) continue;
      PN_ASSERT(i < input_grads.size());
      if (input_grads[i].defined()) {
        auto it = grads.find(next);
        if (it == grads.end() || !it->second.defined()) {
          grads[next] = input_grads[i];
        } else {
          // The first gradient may alias a tensor the op still holds; copy
          // before accumulating into it.
          if (it->second.impl()->storage.use_count() > 1) it->second = it->second.clone();
          it->second.add_(input_grads[i]);
        }
      }
      if (--pending[next] == 0) {
        if (grads.count(next) && grads[next].defined()) {
          ready.push_back(next);
        } else {
          grads.erase(next);
          // No gradient arrived: nothing flows further down this branch, but
          // its consumers' counts must still drop.
          std::vector<Node*> skip{next};
          while (!skip.empty()) {
            Node* s = skip.back();
            skip.pop_back();
            s->release();
            for (auto& nn : s->next) {
              if (!nn) continue;
              if (--pending[nn.get()] == 0) {
                if (grads.count(nn.get()) && grads[nn.get()].defined()) ready.push_back(nn.get());
                else skip.push_back(nn.get());
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace posenet
