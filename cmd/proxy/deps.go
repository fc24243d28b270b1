package main

import (
	_ "github.com/gin-gonic/gin"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/tidwall/gjson"
	_ "github.com/tidwall/sjson"
	_ "go.uber.org/zap"
	_ "golang.org/x/sync/singleflight"
	_ "go.yaml.in/yaml/v3"
)

func main() {}
