// A region of oneDNN primitives over values in the layouts oneDNN picks (see wecare_onednn.h).
// Inputs and outputs are NCHW on caller memory; every value between lives in the caller's
// scratch at an offset planned once (first fit, freed after its last reader), or, in a padded
// layout, in a buffer of the caller's binding (see Binding), so a region is read-only while it
// runs and one region serves concurrent sessions.
#include "wecare_onednn.h"
#include "executor.hpp"

#include <dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

dnnl::engine &cpuEngine() {
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

enum class Role { input, internal, output };

struct Value {
    memory::desc desc;
    Role role;
    int index = -1;          // input or output number
    size_t offset = 0;       // in scratch, for internal values
    int defined = -1, lastRead = -1;
    int storage = -1;        // a view: the value whose memory it lies in (a slice of a concat)
};

/// A step this shim computes itself, on the memory of its arguments (in `args`' order).
using OwnKernel = std::function<void(const std::vector<void *> &)>;

struct Step {
    dnnl::primitive primitive;
    std::vector<std::pair<int, int>> args;          // DNNL argument -> value
    std::vector<std::pair<int, memory>> constants;  // weights, bias
    memory::desc scratchpad;
    std::string implementation;
    bool reorder = false;                           // a layout change `as` made (and may reuse)
    int upsampling[2] = {0, 0};                     // a nearest up-sampling's factors
    OwnKernel own;                                  // set: run this instead of `primitive`
};

/// Nearest up-sampling by whole factors of an nChw16c value into channel blocks
/// `[blockOffset, blockOffset + blocks)` of an nChw16c value of `totalBlocks` blocks: each output
/// pixel is one 64-byte copy. It writes the decoder's up-sampled half of a Concat in place,
/// where oneDNN would resample (its JIT kernel) and then copy the result into the Concat (its
/// resampling has only a reference kernel for a strided output).
static void upsampleInto(const float *src, float *dst, long images, long blocks, long h, long w, long fh, long fw,
                         long totalBlocks, long blockOffset) {
    long oh = h * fh, ow = w * fw;
    for (long image = 0; image < images; ++image)
        for (long b = 0; b < blocks; ++b) {
            const float *from = src + ((image * blocks + b) * h * w) * 16;
            float *to = dst + ((image * totalBlocks + blockOffset + b) * oh * ow) * 16;
            for (long y = 0; y < oh; ++y) {
                const float *row = from + (y / fh) * w * 16;
                float *out = to + y * ow * 16;
                for (long x = 0; x < ow; ++x) std::memcpy(out + x * 16, row + (x / fw) * 16, 16 * sizeof(float));
            }
        }
}

constexpr size_t alignment = 64;
size_t aligned(size_t n) { return (n + alignment - 1) / alignment * alignment; }

dnnl::primitive_attr userScratchpad() {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
}

/// One way to compute a convolution, as the primitives it runs (a reorder of its input first,
/// or none), on zeroed memory of its own: the timing does not depend on the values.
struct Trial {
    std::vector<std::pair<dnnl::primitive, std::unordered_map<int, memory>>> runs;

    explicit Trial(const dnnl::convolution_forward::primitive_desc &pd, const memory::desc *from = nullptr) {
        auto zeroed = [](const memory::desc &d) {
            memory m(d, cpuEngine());
            if (d.get_size() > 0) std::memset(m.get_data_handle(), 0, d.get_size());
            return m;
        };
        memory src = zeroed(pd.src_desc());
        if (from && *from != pd.src_desc()) {
            auto reorder = dnnl::reorder::primitive_desc(cpuEngine(), *from, cpuEngine(), pd.src_desc(), userScratchpad());
            runs.push_back({dnnl::reorder(reorder), {{DNNL_ARG_FROM, zeroed(*from)}, {DNNL_ARG_TO, src},
                                                     {DNNL_ARG_SCRATCHPAD, zeroed(reorder.scratchpad_desc())}}});
        }
        runs.push_back({dnnl::convolution_forward(pd),
                        {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, zeroed(pd.weights_desc())}, {DNNL_ARG_BIAS, zeroed(pd.bias_desc())},
                         {DNNL_ARG_DST, zeroed(pd.dst_desc())}, {DNNL_ARG_SCRATCHPAD, zeroed(pd.scratchpad_desc())}}});
    }
};

/// The name of the candidate that runs fastest (best of five rounds after a warm-up, on one
/// thread, plus the same on `tuneThreads` threads where that is more: the session's thread
/// count, so a kernel that scales badly loses). `trials` makes the candidates, named, for the
/// thread count current when it is called (oneDNN fixes a primitive's work split when it is
/// made). The winner is remembered by `key` for the process, so every session tuned alike and
/// every thread count it runs with use the same kernels, and the outputs do not change between
/// them. Two processes may choose differently where candidates time alike; their outputs then
/// differ in the last bits.
std::string fastest(const std::string &key, int tuneThreads,
                    const std::function<std::vector<std::pair<std::string, Trial>>()> &trials) {
    static std::mutex mutex;
    static std::unordered_map<std::string, std::string> choices;
    std::string fullKey = key + " @" + std::to_string(tuneThreads);
    {
        std::lock_guard<std::mutex> lock(mutex);
        auto known = choices.find(fullKey);
        if (known != choices.end()) return known->second;
    }
    std::vector<std::string> order;
    std::unordered_map<std::string, double> total;
    std::vector<int> counts{1};
    if (tuneThreads > 1) counts.push_back(tuneThreads);
    for (int threads : counts) {
        wecare_onednn::perform(threads, [&] {
            auto candidates = trials();
            dnnl::stream stream(cpuEngine());
            // Rounds over all candidates, so a burst of load from elsewhere slows every
            // candidate alike; the first round warms caches and JIT code and is not counted.
            std::vector<double> best(candidates.size(), 1e300);
            for (int round = 0; round < 6; ++round) {
                for (size_t i = 0; i < candidates.size(); ++i) {
                    auto t0 = std::chrono::steady_clock::now();
                    for (auto &run : candidates[i].second.runs) run.first.execute(stream, run.second);
                    stream.wait();
                    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                    if (round > 0) best[i] = std::min(best[i], t);
                }
            }
            std::unordered_map<std::string, double> now;
            for (size_t i = 0; i < candidates.size(); ++i) now[candidates[i].first] = best[i];
            if (order.empty()) {
                for (auto &c : candidates) { order.push_back(c.first); total[c.first] = now[c.first]; }
            } else {
                for (auto &name : order) total[name] = now.count(name) ? total[name] + now[name] : 1e300;
            }
        });
    }
    std::string winner = *std::min_element(order.begin(), order.end(), [&](auto &a, auto &b) { return total[a] < total[b]; });
    std::lock_guard<std::mutex> lock(mutex);
    return choices.emplace(fullKey, winner).first->second;   // a concurrent build's choice stands
}

/// Whether a layout rounds a dimension up (nChw16c with channels not a multiple of 16).
bool padded(const memory::desc &d) {
    for (int i = 0; i < d.data.ndims; ++i)
        if (d.data.padded_dims[i] != d.data.dims[i]) return true;
    return false;
}

/// Whether `name` (oneDNN's "kernel:isa") is a kernel for `isa`, the instruction set of the
/// kernel oneDNN picks by default: a JIT kernel, not a reference or SSE one.
bool ofInstructionSet(const std::string &name, const std::string &isa) {
    return name.size() >= isa.size() && name.compare(name.size() - isa.size(), isa.size(), isa) == 0;
}

/// Numbers as text, for `fastest`'s keys.
std::string numbersKey(std::initializer_list<long> numbers) {
    std::string key;
    for (long v : numbers) key += std::to_string(v) + ",";
    return key;
}

/// A layout as text (dimensions, strides, inner blocks), for `fastest`'s keys.
std::string layoutKey(const memory::desc &d) {
    const auto &b = d.data.format_desc.blocking;
    std::string key = std::to_string(d.data.format_kind) + ":";
    for (int i = 0; i < d.data.ndims; ++i) key += std::to_string(d.data.dims[i]) + "/" + std::to_string(b.strides[i]) + ",";
    for (int i = 0; i < b.inner_nblks; ++i) key += std::to_string(b.inner_idxs[i]) + "b" + std::to_string(b.inner_blks[i]) + ",";
    return key;
}

}  // namespace

/// A region's memory objects and per-step arguments for one session's pointers (its scratch,
/// inputs and outputs), made once rather than on every run. Values in padded layouts live in
/// buffers of the binding's own, zeroed once: their padding must stay zero, which the session's
/// scratch (shared with its other kernels) would not keep.
struct Binding {
    const void *scratch;
    std::vector<const float *> inputs;
    std::vector<float *> outputs;
    std::vector<std::unordered_map<int, memory>> args;
    std::vector<memory> ownBuffers;
    std::vector<void *> handles;   // each value's memory
};

struct wecare_onednn_region {
    int threads = 1;
    int tuneThreads = 1;   // timed choices weigh one thread and this many
    mutable std::mutex bindingsMutex;
    mutable std::deque<std::shared_ptr<const Binding>> bindings;   // most recent first, a few kept
    std::vector<Value> values;
    std::vector<Step> steps;
    std::vector<int> outputs;
    int inputCount = 0;
    bool finished = false;
    size_t scratchpadBytes = 0, totalBytes = 0;
    std::string error, implementations;

    int add(memory::desc desc, Role role) {
        values.push_back(Value{desc, role});
        values.back().defined = (int)steps.size();
        return (int)values.size() - 1;
    }

    bool valid(int v) const { return v >= 0 && v < (int)values.size() && values[v].role != Role::output; }

    void push(dnnl::primitive p, const dnnl::primitive_desc_base &pd, std::vector<std::pair<int, int>> args,
              std::vector<std::pair<int, memory>> constants = {}) {
        for (auto &a : args) {
            int v = values[a.second].storage >= 0 ? values[a.second].storage : a.second;
            values[a.second].lastRead = std::max(values[a.second].lastRead, (int)steps.size());
            values[v].lastRead = std::max(values[v].lastRead, (int)steps.size());
        }
        steps.push_back(Step{p, std::move(args), std::move(constants), pd.scratchpad_desc(), pd.impl_info_str()});
    }

    /// Where `v` is a nearest up-sampling's output in nChw16c that nothing has read yet, and
    /// its input is nChw16c too: that step becomes `upsampleInto` writing straight into `slice`
    /// (blocks from `blockOffset` of `storage`, `totalBlocks` in all), and `v` a view of it.
    bool upsampleIntoSlice(int v, const memory::desc &slice, int storage, long totalBlocks, long blockOffset) {
        int k = values[v].defined;
        if (values[v].storage >= 0 || values[v].lastRead != k || k >= (int)steps.size() || steps[k].upsampling[0] == 0) return false;
        Step &step = steps[k];
        int src = step.args[0].second;
        auto in = values[src].desc.dims(), out = values[v].desc.dims();
        if (step.args[1].second != v || in[1] % 16 != 0 || values[src].desc != memory::desc(in, dt::f32, tag::aBcd16b) ||
            values[v].desc != memory::desc(out, dt::f32, tag::aBcd16b))
            return false;
        long images = in[0], blocks = in[1] / 16, h = in[2], w = in[3], fh = step.upsampling[0], fw = step.upsampling[1];
        step.own = [=](const std::vector<void *> &buffers) {
            upsampleInto(static_cast<const float *>(buffers[0]), static_cast<float *>(buffers[1]), images, blocks, h, w, fh, fw,
                         totalBlocks, blockOffset);
        };
        step.args[1].second = storage;   // the kernel addresses the whole Concat value
        step.scratchpad = memory::desc();
        step.implementation = "wecare:upsample_into_concat";
        values[v].desc = slice;
        values[v].storage = storage;
        values[storage].defined = std::min(values[storage].defined, k);
        values[storage].lastRead = std::max(values[storage].lastRead, k);
        return true;
    }

    /// `v` in layout `desc`: itself, or a reordered copy (made once per layout).
    int as(int v, const memory::desc &desc) {
        if (values[v].desc == desc) return v;
        for (size_t i = 0; i < steps.size(); ++i) {
            auto &s = steps[i];
            if (s.reorder && s.args[0].second == v && values[s.args[1].second].desc == desc)
                return s.args[1].second;
        }
        auto pd = dnnl::reorder::primitive_desc(cpuEngine(), values[v].desc, cpuEngine(), desc, userScratchpad());
        int out = add(desc, Role::internal);
        push(dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, v}, {DNNL_ARG_TO, out}});
        steps.back().reorder = true;
        return out;
    }
};

static void execute(const wecare_onednn_region *r, const float *const *inputs, float *const *outputs, void *scratch);

template <typename F>
static int guarded(wecare_onednn_region *r, F body) {
    if (r->finished) { r->error = "the region is finished; nothing can be added"; return -1; }
    // oneDNN splits a primitive's work for the thread count current when it is created (and
    // times Winograd candidates with it), so a region is built where it will run.
    try {
        int result = -1;
        wecare_onednn::perform(r->threads, [&] { result = body(); });
        return result;
    } catch (const dnnl::error &e) {
        r->error = std::string(e.what()) + " (oneDNN status " + std::to_string((int)e.status) + ")";
    } catch (const std::exception &e) {
        r->error = e.what();
    }
    return -1;
}

extern "C" {

int wecare_onednn_set_max_isa(int avx512) {
    auto status = dnnl_set_max_cpu_isa(avx512 ? dnnl_cpu_isa_avx512_core : dnnl_cpu_isa_avx2);
    return status == dnnl_success ? 0 : -1;
}

wecare_onednn_region *wecare_onednn_region_create(int threads, int tune_threads) {
    auto r = new wecare_onednn_region();
    r->threads = std::max(1, threads);
    r->tuneThreads = std::max(1, tune_threads);
    return r;
}
void wecare_onednn_region_free(wecare_onednn_region *r) { delete r; }
const char *wecare_onednn_region_error(const wecare_onednn_region *r) { return r->error.c_str(); }

int wecare_onednn_input(wecare_onednn_region *r, int n, int c, int h, int w) {
    return guarded(r, [&] {
        int v = r->add(memory::desc({n, c, h, w}, dt::f32, tag::nchw), Role::input);
        r->values[v].index = r->inputCount++;
        return v;
    });
}

int wecare_onednn_conv(wecare_onednn_region *r, int src, const float *weights, const float *bias,
                       int m, int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr, int groups,
                       int activation, float alpha, float beta, int winograd, const char *implementation) {
    return guarded(r, [&]() -> int {
        if (!r->valid(src)) { r->error = "conv reads an unknown value"; return -1; }
        auto dims = r->values[src].desc.dims();
        memory::dim n = dims[0], c = dims[1], h = dims[2], w = dims[3];
        if (groups < 1 || c % groups || m % groups) { r->error = "conv channels do not divide into groups"; return -1; }
        memory::dim oh = (h + pt + pb - kh) / sh + 1, ow = (w + pl + pr - kw) / sw + 1;
        memory::dims wdims = groups > 1 ? memory::dims{groups, m / groups, c / groups, kh, kw} : memory::dims{m, c, kh, kw};
        memory::desc srcAny({n, c, h, w}, dt::f32, tag::any), dstAny({n, m, oh, ow}, dt::f32, tag::any);
        memory::desc weightsAny(wdims, dt::f32, tag::any), biasDesc({m}, dt::f32, tag::a);

        dnnl::post_ops ops;
        switch (activation) {
        case WECARE_ONEDNN_NONE: break;
        case WECARE_ONEDNN_RELU: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
        case WECARE_ONEDNN_LEAKY_RELU: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, alpha, 0.f); break;
        case WECARE_ONEDNN_CLIP: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, alpha, beta); break;
        case WECARE_ONEDNN_SIGMOID: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); break;
        case WECARE_ONEDNN_TANH: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_tanh, 0.f, 0.f); break;
        default: r->error = "unknown activation " + std::to_string(activation); return -1;
        }
        auto attr = userScratchpad();
        attr.set_post_ops(ops);
        auto convDesc = [&](dnnl::algorithm algorithm, const memory::desc &input) {
            return dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, algorithm, input, weightsAny, biasDesc,
                                                   dstAny, {sh, sw}, {pt, pl}, {pb, pr});
        };
        auto pd = dnnl::convolution_forward::primitive_desc(convDesc(dnnl::algorithm::convolution_direct, srcAny), attr, cpuEngine());
        std::string isa = pd.impl_info_str();
        isa = isa.substr(isa.find(':') + 1);
        // The timed choices' key: the shape (the build's thread count left out, so every build
        // runs the same kernels; `fastest` adds the thread count the choice was tuned for).
        std::string key = numbersKey({(long)n, (long)c, (long)h, (long)w, (long)m, (long)kh, (long)kw, (long)sh, (long)sw,
                                      (long)pt, (long)pl, (long)pb, (long)pr, (long)groups, (long)activation});
        if (winograd && kh == 3 && kw == 3 && sh == 1 && sw == 1 && groups == 1) {
            // Direct against Winograd F(2x2,3x3) and F(4x4,3x3): which is fastest depends on the
            // shape (F(4x4) wins on wide images, loses on narrow ones), so the candidates are
            // timed on this CPU, once per shape, by the first build that has it.
            // Direct and Winograd kernels of the chosen instruction set, for the thread count now.
            auto collectAll = [&] {
                std::vector<dnnl::convolution_forward::primitive_desc> candidates;
                auto collect = [&](dnnl::algorithm algorithm) {
                    // The iterator reads the operation descriptor: both live in this scope.
                    auto d = convDesc(algorithm, srcAny);
                    dnnl::convolution_forward::primitive_desc first(d, attr, cpuEngine());
                    do {
                        // Only the JIT kernels of the chosen instruction set (no reference kernels).
                        std::string name = first.impl_info_str();
                        if (!ofInstructionSet(name, isa)) continue;
                        if (std::any_of(candidates.begin(), candidates.end(), [&](auto &c) { return c.impl_info_str() == name; })) continue;
                        dnnl_primitive_desc_t copy;
                        dnnl::error::wrap_c_api(dnnl_primitive_desc_clone(&copy, first.get()), "cloning a primitive descriptor");
                        candidates.push_back(dnnl::convolution_forward::primitive_desc(copy));
                    } while (first.next_impl());
                };
                collect(dnnl::algorithm::convolution_direct);
                try { collect(dnnl::algorithm::convolution_winograd); } catch (const dnnl::error &) {}
                return candidates;
            };
            auto candidates = collectAll();
            if (implementation) {
                auto named = std::find_if(candidates.begin(), candidates.end(),
                                          [&](auto &c) { return c.impl_info_str() == std::string(implementation); });
                if (named == candidates.end()) {
                    r->error = std::string("oneDNN has no ") + implementation + " for this convolution";
                    return -1;
                }
                pd = *named;
            } else if (candidates.size() > 1) {
                auto winner = fastest("algorithm " + key, r->tuneThreads, [&] {
                    std::vector<std::pair<std::string, Trial>> trials;
                    for (auto &c : collectAll()) trials.emplace_back(c.impl_info_str(), Trial(c));
                    return trials;
                });
                for (auto &c : candidates)
                    if (c.impl_info_str() == winner) pd = c;
            }
        }
        // The layout oneDNN prefers for the input against the one the input has: a reorder
        // first, or a kernel that reads it as it is, whichever times faster with the reorder
        // counted (the head's 1x1 conv reads the decoder's blocked layout directly).
        const memory::desc have = r->values[src].desc;
        if (!implementation && pd.src_desc() != have) {
            try {
                dnnl::convolution_forward::primitive_desc asIs(convDesc(dnnl::algorithm::convolution_direct, have), attr, cpuEngine());
                // Timed on one thread: the pds at hand are made for this build's thread count.
                if (ofInstructionSet(asIs.impl_info_str(), isa) && fastest("layout " + key + layoutKey(have) + pd.impl_info_str(), 1, [&] {
                        std::vector<std::pair<std::string, Trial>> trials;
                        trials.emplace_back("reorder", Trial(pd, &have));
                        trials.emplace_back("as is", Trial(asIs));
                        return trials;
                    }) == "as is")
                    pd = asIs;
            } catch (const dnnl::error &) {}   // no kernel reads that layout: reorder
        }

        // Weights (and bias) into the layout the primitive chose, once.
        auto &eng = cpuEngine();
        dnnl::stream stream(eng);
        memory userWeights({wdims, dt::f32, groups > 1 ? tag::goihw : tag::oihw}, eng, const_cast<float *>(weights));
        memory packed(pd.weights_desc(), eng);
        dnnl::reorder(userWeights, packed).execute(stream, userWeights, packed);
        memory biasMemory(biasDesc, eng);
        float *b = static_cast<float *>(biasMemory.get_data_handle());
        for (int i = 0; i < m; ++i) b[i] = bias ? bias[i] : 0.f;
        stream.wait();

        int in = r->as(src, pd.src_desc());
        int out = r->add(pd.dst_desc(), Role::internal);
        r->push(dnnl::convolution_forward(pd), pd, {{DNNL_ARG_SRC, in}, {DNNL_ARG_DST, out}},
                {{DNNL_ARG_WEIGHTS, packed}, {DNNL_ARG_BIAS, biasMemory}});
        return out;
    });
}

int wecare_onednn_add(wecare_onednn_region *r, int a, int b) {
    return guarded(r, [&]() -> int {
        if (!r->valid(a) || !r->valid(b)) { r->error = "add reads an unknown value"; return -1; }
        if (r->values[a].desc.dims() != r->values[b].desc.dims()) { r->error = "add of values of different shapes"; return -1; }
        auto desc = r->values[a].desc;
        int bb = r->as(b, desc);
        auto d = dnnl::binary::desc(dnnl::algorithm::binary_add, desc, desc, desc);
        auto pd = dnnl::binary::primitive_desc(d, userScratchpad(), cpuEngine());
        int out = r->add(pd.dst_desc(), Role::internal);
        r->push(dnnl::binary(pd), pd, {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, bb}, {DNNL_ARG_DST, out}});
        return out;
    });
}

int wecare_onednn_concat_channels(wecare_onednn_region *r, const int *values, int count) {
    return guarded(r, [&]() -> int {
        std::vector<memory::desc> descs;
        for (int i = 0; i < count; ++i) {
            if (!r->valid(values[i])) { r->error = "concat reads an unknown value"; return -1; }
            descs.push_back(r->values[values[i]].desc);
        }
        // Where every input starts on a 16-channel boundary: each is reordered into its slice of
        // one nChw16c value (oneDNN's own concat falls back to its reference kernel when the
        // inputs' layouts differ, which they do between a decoder and its skip connection).
        auto dims = descs[0].dims();
        memory::dim channels = 0;
        bool aligned16 = true;
        for (auto &d : descs) { aligned16 = aligned16 && channels % 16 == 0; channels += d.dims()[1]; }
        if (aligned16) {
            memory::desc whole({dims[0], channels, dims[2], dims[3]}, dt::f32, tag::aBcd16b);
            int out = r->add(whole, Role::internal);
            memory::dim offset = 0;
            for (int i = 0; i < count; ++i) {
                auto part = descs[i].dims();
                auto slice = whole.submemory_desc(part, {0, offset, 0, 0});
                bool inPlace = r->upsampleIntoSlice(values[i], slice, out, channels / 16, offset / 16);
                offset += part[1];
                if (inPlace) continue;
                int view = r->add(slice, Role::internal);
                r->values[view].storage = out;
                auto pd = dnnl::reorder::primitive_desc(cpuEngine(), descs[i], cpuEngine(), slice, userScratchpad());
                r->push(dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, values[i]}, {DNNL_ARG_TO, view}});
            }
            return out;
        }
        auto pd = dnnl::concat::primitive_desc(1, descs, cpuEngine(), userScratchpad());
        int out = r->add(pd.dst_desc(), Role::internal);
        std::vector<std::pair<int, int>> args;
        for (int i = 0; i < count; ++i) args.push_back({DNNL_ARG_MULTIPLE_SRC + i, values[i]});
        args.push_back({DNNL_ARG_DST, out});
        r->push(dnnl::concat(pd), pd, args);
        return out;
    });
}

int wecare_onednn_upsample_nearest(wecare_onednn_region *r, int src, int factor_h, int factor_w) {
    return guarded(r, [&]() -> int {
        if (!r->valid(src)) { r->error = "upsampling reads an unknown value"; return -1; }
        auto s = r->values[src].desc;
        auto dims = s.dims();
        memory::desc dst({dims[0], dims[1], dims[2] * factor_h, dims[3] * factor_w}, dt::f32, tag::any);
        auto d = dnnl::resampling_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::resampling_nearest, s, dst);
        auto pd = dnnl::resampling_forward::primitive_desc(d, userScratchpad(), cpuEngine());
        int in = r->as(src, pd.src_desc());
        int out = r->add(pd.dst_desc(), Role::internal);
        r->push(dnnl::resampling_forward(pd), pd, {{DNNL_ARG_SRC, in}, {DNNL_ARG_DST, out}});
        r->steps.back().upsampling[0] = factor_h;
        r->steps.back().upsampling[1] = factor_w;
        return out;
    });
}

int wecare_onednn_output(wecare_onednn_region *r, int value) {
    return guarded(r, [&]() -> int {
        if (!r->valid(value)) { r->error = "output of an unknown value"; return -1; }
        auto dims = r->values[value].desc.dims();
        memory::desc plain(dims, dt::f32, tag::nchw);
        int out = r->add(plain, Role::output);
        r->values[out].index = (int)r->outputs.size();
        r->outputs.push_back(out);
        auto pd = dnnl::reorder::primitive_desc(cpuEngine(), r->values[value].desc, cpuEngine(), plain, userScratchpad());
        r->push(dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, value}, {DNNL_ARG_TO, out}});
        return r->values[out].index;
    });
}

int wecare_onednn_finish(wecare_onednn_region *r) {
    return guarded(r, [&]() -> int {
        for (auto &s : r->steps) {
            r->scratchpadBytes = std::max(r->scratchpadBytes, aligned(s.scratchpad.get_size()));
            if (!r->implementations.empty()) r->implementations += ",";
            r->implementations += s.implementation;
        }
        // First fit in step order; a value's space is free after its last reader. A value in a
        // padded layout (channels rounded up to the block) is not in the scratch at all (see
        // Binding): its padding must stay zero, and the session's other kernels use the scratch.
        struct Block { size_t offset, size; int lastRead; };
        std::vector<Block> live;
        size_t end = r->scratchpadBytes;
        for (auto &v : r->values) {
            if (v.role != Role::internal || v.storage >= 0 || padded(v.desc)) continue;
            live.erase(std::remove_if(live.begin(), live.end(), [&](const Block &b) { return b.lastRead < v.defined; }), live.end());
            std::sort(live.begin(), live.end(), [](const Block &a, const Block &b) { return a.offset < b.offset; });
            size_t need = aligned(v.desc.get_size()), candidate = r->scratchpadBytes;
            for (auto &b : live) {
                if (b.offset >= candidate + need) break;
                candidate = std::max(candidate, b.offset + b.size);
            }
            v.offset = candidate;
            live.push_back({candidate, need, std::max(v.lastRead, v.defined)});
            end = std::max(end, candidate + need);
        }
        r->totalBytes = end;
        r->finished = true;
        return 0;
    });
}

size_t wecare_onednn_scratch_bytes(const wecare_onednn_region *r) { return r->totalBytes; }
const char *wecare_onednn_implementations(const wecare_onednn_region *r) { return r->implementations.c_str(); }

int wecare_onednn_run(const wecare_onednn_region *r, const float *const *inputs, float *const *outputs,
                      void *scratch, char *error, size_t error_len) {
    try {
        if (!r->finished) throw std::runtime_error("the region was not finished");
        wecare_onednn::perform(r->threads, [&] { execute(r, inputs, outputs, scratch); });
        return 0;
    } catch (const std::exception &e) {
        if (error && error_len) { std::strncpy(error, e.what(), error_len - 1); error[error_len - 1] = 0; }
        return -1;
    }
}

}  // extern "C"

static void execute(const wecare_onednn_region *r, const float *const *inputs, float *const *outputs, void *scratch) {
    std::vector<const float *> ins(inputs, inputs + r->inputCount);
    std::vector<float *> outs(outputs, outputs + r->outputs.size());
    std::shared_ptr<const Binding> binding;
    {
        std::lock_guard<std::mutex> lock(r->bindingsMutex);
        for (auto &b : r->bindings)
            if (b->scratch == scratch && b->inputs == ins && b->outputs == outs) { binding = b; break; }
    }
    if (!binding) {
        auto &eng = cpuEngine();
        auto made = std::make_shared<Binding>(Binding{scratch, ins, outs, {}});
        char *base = static_cast<char *>(scratch);
        std::vector<memory> memories;
        memories.reserve(r->values.size());
        std::vector<void *> handles(r->values.size(), nullptr);
        for (size_t i = 0; i < r->values.size(); ++i) {
            auto &v = r->values[i];
            if (v.role == Role::input) handles[i] = const_cast<float *>(inputs[v.index]);
            else if (v.role == Role::output) handles[i] = outputs[v.index];
            else if (v.storage >= 0) handles[i] = handles[v.storage];   // a slice: its whole comes first
            else if (padded(v.desc)) {
                made->ownBuffers.emplace_back(v.desc, eng);
                handles[i] = made->ownBuffers.back().get_data_handle();
                std::memset(handles[i], 0, v.desc.get_size());
            } else handles[i] = base + v.offset;
            memories.emplace_back(v.desc, eng, handles[i]);
        }
        made->handles = handles;
        for (auto &s : r->steps) {
            std::unordered_map<int, memory> args;
            if (s.own) { made->args.push_back(std::move(args)); continue; }
            for (auto &a : s.args) args.insert({a.first, memories[a.second]});
            for (auto &c : s.constants) args.insert(c);
            if (s.scratchpad.get_size() > 0) args.insert({DNNL_ARG_SCRATCHPAD, memory(s.scratchpad, eng, base)});
            made->args.push_back(std::move(args));
        }
        binding = made;
        std::lock_guard<std::mutex> lock(r->bindingsMutex);
        r->bindings.push_front(made);
        if (r->bindings.size() > 8) r->bindings.pop_back();   // sessions come and go in tests
    }
    dnnl::stream stream(cpuEngine());
    for (size_t i = 0; i < r->steps.size(); ++i) {
        auto &step = r->steps[i];
        if (step.own) {
            std::vector<void *> buffers;
            for (auto &a : step.args) buffers.push_back(binding->handles[a.second]);
            step.own(buffers);
        } else {
            step.primitive.execute(stream, binding->args[i]);
        }
    }
    stream.wait();
}
