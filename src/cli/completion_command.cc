// sluice completion bash: a bash completion script made from the command
// table and the options each command declares (DescribeCommand), so that
// it knows exactly the commands and options of this sluice, never those of
// an older one. cmake --install puts it in
// share/bash-completion/completions/sluice.
#include <boost/program_options.hpp>
#include <iostream>

#include "cli/cli_util.h"

namespace po = boost::program_options;

namespace sluice::cli {
namespace {

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// The script's lines for one command ("export", or an action such as
// "ledger show"): its option words, those that take a value, and the
// choices of those that name them. The names are sluice's own ([a-z-]),
// so they need no quoting inside double quotes.
void AddCommand(const std::string& name, const CommandSpec& spec, std::string* arms,
                std::string* choices) {
  std::vector<std::string> words;
  std::vector<std::string> valued;
  for (const CommandSpec::Option& option : spec.options) {
    for (const std::string& n : option.names) {
      words.push_back(n);
      if (option.takes_value) valued.push_back(n);
      if (!option.values.empty()) {
        *choices += "    \"" + name + " " + n + "\") choices=\"" + Join(option.values) + "\" ;;\n";
      }
    }
  }
  *arms +=
      "    \"" + name + "\") words=\"" + Join(words) + "\"; valued=\" " + Join(valued) + " \" ;;\n";
}

std::string BashScript() {
  std::vector<std::string> command_names;
  std::string action_arms;  // commands whose first argument is an action
  std::string arms;
  std::string choices;
  for (const Command& c : Commands()) {
    command_names.push_back(c.name);
    CommandSpec spec;
    if (c.actions == nullptr) {
      if (DescribeCommand(c.run, {}, &spec)) AddCommand(c.name, spec, &arms, &choices);
      continue;
    }
    std::vector<std::string> action_names;
    for (const Command& a : c.actions()) {
      action_names.push_back(a.name);
      if (DescribeCommand(a.run, {}, &spec)) {
        AddCommand(std::string(c.name) + " " + a.name, spec, &arms, &choices);
      }
    }
    action_arms += std::string("    ") + c.name +
                   ")\n"
                   "      if ((COMP_CWORD == 2)); then\n"
                   "        mapfile -t COMPREPLY < <(compgen -W \"" +
                   Join(action_names) +
                   " --help\" -- \"$cur\")\n"
                   "        return 0\n"
                   "      fi\n"
                   "      command=\"$command ${COMP_WORDS[2]}\" ;;\n";
  }
  return std::string(
             "# bash completion for sluice, made by 'sluice completion bash' "
             "(sluice " SLUICE_VERSION
             ")\n"
             "# from its commands and their options. Install it as\n"
             "# /usr/share/bash-completion/completions/sluice, or source it from ~/.bashrc.\n"
             "_sluice() {\n"
             "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"\"\n"
             "  ((COMP_CWORD > 0)) && prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
             "  local command=\"${COMP_WORDS[1]}\" words=\"\" valued=\"\" choices=\"\"\n"
             "  if ((COMP_CWORD == 1)); then\n"
             "    mapfile -t COMPREPLY < <(compgen -W \"") +
         Join(command_names) +
         " --help --version\" -- \"$cur\")\n"
         "    return 0\n"
         "  fi\n"
         "  case \"$command\" in\n" +
         action_arms +
         "  esac\n"
         "  case \"$command\" in\n" +
         arms +
         "    *) return 0 ;;\n"
         "  esac\n"
         "  case \"$command $prev\" in\n" +
         choices +
         "  esac\n"
         "  if [[ -n $choices ]]; then\n"
         "    mapfile -t COMPREPLY < <(compgen -W \"$choices\" -- \"$cur\")\n"
         "  elif [[ $cur != -* || $valued == *\" $prev \"* ]]; then\n"
         "    # A file argument, or the value of an option: most are files or directories.\n"
         "    compopt -o filenames 2>/dev/null\n"
         "    mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
         "  else\n"
         "    mapfile -t COMPREPLY < <(compgen -W \"$words\" -- \"$cur\")\n"
         "  fi\n"
         "  return 0\n"
         "}\n"
         "complete -F _sluice sluice\n";
}

}  // namespace

int RunCompletion(const Args& args) {
  std::string shell;
  po::options_description options("completion options");
  options.add_options()("shell", po::value(&shell)->required()->value_name("SHELL"),
                        "the shell to complete for: bash, the only one known (also positional)");
  po::positional_options_description positional;
  positional.add("shell", 1);
  po::variables_map vm;
  if (auto exit = ParseCommandLine("completion", "bash", args, options, positional, &vm)) {
    return *exit;
  }
  if (shell != "bash") {
    std::cerr << "sluice completion: no completion script for '" << Printable(shell)
              << "': bash is the only shell known\n";
    return kExitUsage;
  }
  std::cout << BashScript();
  return kExitOk;
}

}  // namespace sluice::cli
