// Loads the installed default model and generates a few tokens greedily with the library's engine; prints the
// library version, then the text. Exit status 1 with the library's message on any error.
#include <cstdio>
#include <string>

#include <tinymamba/tinymamba.hpp>

int main(int argc, char** argv) {
  try {
    const std::string dir = argc > 1 ? argv[1] : MODEL_DIR;
    const tinymamba::Model model = tinymamba::load_model(dir);
    const tinymamba::Tokenizer tok = tinymamba::Tokenizer::load(dir + "/tokenizer.json");
    tinymamba::Engine engine(model, {.slots = 1});
    tinymamba::Sequence seq(tok.encode("ROMEO:"), {.temperature = 0}, {.max_new_tokens = 8}, tok.vocab_size(), &tok);
    (void)engine.prefill(seq);
    std::string text;
    tinymamba::Sequence* const seqs[] = {&seq};
    while (seq.ready()) text += engine.step(seqs).front().text;
    std::printf("tinymamba %s\n%s\n", std::string(tinymamba::version()).c_str(), text.c_str());
    return seq.generated_tokens() == 8 ? 0 : 1;
  } catch (const tinymamba::Error& e) {
    std::fprintf(stderr, "consumer: error: %s\n", e.what());
    return 1;
  }
}
