"""config/prometheus/cairn-prometheusrule.yaml carries exactly the rules of cairn-alerts.yml."""
import os
import unittest

from cairn_test_support import SOURCE

DIR = os.path.join(SOURCE, "config", "prometheus")


class PrometheusRuleManifest(unittest.TestCase):
    def test_spec_is_the_rule_file(self):
        with open(os.path.join(DIR, "cairn-alerts.yml")) as f:
            rules = [l for l in f.read().splitlines() if not l.startswith("#")]
        with open(os.path.join(DIR, "cairn-prometheusrule.yaml")) as f:
            manifest = f.read().splitlines()
        spec = manifest[manifest.index("spec:") + 1:]
        self.assertEqual([l[2:] if l.startswith("  ") else l for l in spec], rules)
        self.assertIn("kind: PrometheusRule", manifest)


if __name__ == "__main__":
    unittest.main()
