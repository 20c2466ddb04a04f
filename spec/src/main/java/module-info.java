/** Encapsulations and their policies declared as YAML or JSON files, read into the API's builders. */
module io.lencap.spec {
  requires transitive io.lencap.api;
  requires static org.jspecify;
  requires com.fasterxml.jackson.databind;
  requires com.fasterxml.jackson.dataformat.yaml;

  exports io.lencap.spec;
}
