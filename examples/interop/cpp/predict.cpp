// m_predict: run an M model from C++ with libtorch, the C++ library inside the torch wheel.
//
//   m export NAME --format aoti -o model.pt2          (or --format torchscript -o model.pt)
//   m_predict model.pt2 inputs.json                   → {"output": [[...], ...], "labels": [...]}
//
// The model file's sidecar (model.pt2.json, written by `m export`) says which tensors the model
// takes, in which order, with which dtype; inputs.json gives each by name as a nested list, rows
// being examples: {"x": [[0.1, 0.2, ...], ...]} for a layer stack, or the tokenizer's output
// {"input_ids": [[101, ...]], "attention_mask": [[1, ...]], "token_type_ids": [[0, ...]]} for a
// text model.  Any batch size works (and, for token inputs, any length): those dims are dynamic.
// The answer is JSON on stdout: the output rows and, for a classifier, each row's label.
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/script.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

using json = nlohmann::json;

namespace {

json read_json(const std::string& path) {
    std::ifstream file(path);
    if (!file) throw std::runtime_error("cannot open " + path);
    try {
        return json::parse(file);
    } catch (const json::parse_error& error) {
        throw std::runtime_error(path + ": " + error.what());
    }
}

torch::ScalarType scalar_type(const std::string& dtype) {
    if (dtype == "float32") return torch::kFloat32;
    if (dtype == "float64") return torch::kFloat64;
    if (dtype == "int64") return torch::kInt64;
    if (dtype == "int32") return torch::kInt32;
    if (dtype == "bool") return torch::kBool;
    if (dtype == "uint8") return torch::kUInt8;
    throw std::runtime_error("unsupported input dtype " + dtype);
}

// A nested JSON list → its shape and its numbers in row-major order.
void flatten(const json& value, const std::string& name, size_t depth, std::vector<int64_t>& shape,
             std::vector<double>& values) {
    if (value.is_array()) {
        if (depth == shape.size()) shape.push_back(static_cast<int64_t>(value.size()));
        if (depth > shape.size() || shape[depth] != static_cast<int64_t>(value.size()))
            throw std::runtime_error(name + ": rows of different lengths");
        for (const json& item : value) flatten(item, name, depth + 1, shape, values);
    } else if (value.is_number() || value.is_boolean()) {
        if (depth != shape.size()) throw std::runtime_error(name + ": rows of different depths");
        values.push_back(value.get<double>());  // exact for float32 values and token ids < 2^53
    } else {
        throw std::runtime_error(name + ": expected numbers, got " + std::string(value.type_name()));
    }
}

torch::Tensor input_tensor(const json& given, const json& spec) {
    const std::string name = spec.at("name");
    if (!given.contains(name)) throw std::runtime_error("inputs.json has no \"" + name + "\"");
    std::vector<int64_t> shape;
    std::vector<double> values;
    flatten(given.at(name), name, 0, shape, values);
    if (shape.size() != spec.at("shape").size())
        throw std::runtime_error(name + ": expected " + std::to_string(spec.at("shape").size()) +
                                 " dims, got " + std::to_string(shape.size()));
    torch::Tensor flat = torch::tensor(values, torch::kFloat64);
    return flat.reshape(shape).to(scalar_type(spec.at("dtype")));
}

// A tensor → nested JSON lists of numbers.
json to_json(const torch::Tensor& tensor) {
    if (tensor.dim() == 0) return tensor.item<double>();
    json rows = json::array();
    for (int64_t i = 0; i < tensor.size(0); ++i) rows.push_back(to_json(tensor[i]));
    return rows;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: m_predict MODEL.pt2|MODEL.pt INPUTS.json   (MODEL.json, the sidecar, beside it)\n";
        return 2;
    }
    try {
        const std::string model_path = argv[1];
        const json sidecar = read_json(model_path + ".json");
        const json given = read_json(argv[2]);
        std::vector<torch::Tensor> inputs;
        for (const json& spec : sidecar.at("inputs")) inputs.push_back(input_tensor(given, spec));

        c10::InferenceMode inference;
        const std::string format = sidecar.at("export_format");
        torch::Tensor output;
        if (format == "aoti") {
            // AOTInductor: the package holds a shared library compiled ahead of time for this CPU.
            torch::inductor::AOTIModelPackageLoader loader(model_path);
            output = loader.run(inputs).at(0);
        } else if (format == "torchscript") {
            torch::jit::Module module = torch::jit::load(model_path);
            module.eval();
            std::vector<c10::IValue> arguments(inputs.begin(), inputs.end());
            output = module.forward(arguments).toTensor();
        } else {
            throw std::runtime_error("m_predict runs aoti and torchscript exports, not " + format);
        }

        json answer;
        answer["output"] = to_json(output.to(torch::kFloat64).contiguous());
        const json& labels = sidecar.at("labels");
        if (labels.is_array() && sidecar.value("task", "") == "classification" && output.dim() == 2) {
            json predicted = json::array();
            torch::Tensor best = output.argmax(1);
            for (int64_t i = 0; i < best.size(0); ++i) predicted.push_back(labels.at(best[i].item<int64_t>()));
            answer["labels"] = predicted;
        }
        std::cout << answer.dump() << '\n';
    } catch (const std::exception& error) {
        std::cerr << "m_predict: " << error.what() << '\n';
        return 1;
    }
    return 0;
}
