# The network: an existing VPC (vpc_id and its subnets), or a minimal one made here — two private subnets for the
# tasks and the database, two public ones for the load balancer (and the NAT gateway), in two zones.

locals {
  create_vpc = var.vpc_id == null
  zones      = coalesce(var.availability_zones, ["${local.region}a", "${local.region}b"])

  vpc_id             = local.create_vpc ? aws_vpc.this[0].id : var.vpc_id
  vpc_cidr           = local.create_vpc ? aws_vpc.this[0].cidr_block : data.aws_vpc.existing[0].cidr_block
  private_subnet_ids = local.create_vpc ? aws_subnet.private[*].id : var.private_subnet_ids
  public_subnet_ids  = local.create_vpc ? aws_subnet.public[*].id : var.public_subnet_ids
  lb_subnet_ids      = local.internal_load_balancer ? local.private_subnet_ids : local.public_subnet_ids

  # Interface endpoints (egress = "endpoints"): every AWS API the tasks call, so no traffic needs the internet
  # (Amazon Forecast's too when it is the model backend).
  interface_endpoints = var.egress == "endpoints" && local.create_vpc ? toset(concat([
    "ecr.api", "ecr.dkr", "logs", "sqs", "sns", "sagemaker.api", "sagemaker.runtime", "glue", "secretsmanager", "sts",
    "ecs", "kms", "athena",
  ], var.model_backend == "amazon-forecast" ? ["forecast"] : [])) : toset([])
}

data "aws_vpc" "existing" {
  count = local.create_vpc ? 0 : 1
  id    = var.vpc_id
}

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:Flow logs are the account's choice (a central flow-log bucket); the tasks' own logs go to CloudWatch.
  count                = local.create_vpc ? 1 : 0
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(var.tags, { Name = "${var.name}-dagster" })
}

# The VPC's default security group allows nothing (its rules are removed).
resource "aws_default_security_group" "this" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = merge(var.tags, { Name = "${var.name}-default-deny" })
}

resource "aws_subnet" "private" {
  count             = local.create_vpc ? 2 : 0
  vpc_id            = aws_vpc.this[0].id
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index)
  availability_zone = local.zones[count.index]
  tags              = merge(var.tags, { Name = "${var.name}-private-${local.zones[count.index]}" })
}

resource "aws_subnet" "public" {
  count             = local.create_vpc ? 2 : 0
  vpc_id            = aws_vpc.this[0].id
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index + 8)
  availability_zone = local.zones[count.index]
  tags              = merge(var.tags, { Name = "${var.name}-public-${local.zones[count.index]}" })
}

resource "aws_internet_gateway" "this" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = merge(var.tags, { Name = "${var.name}-dagster" })
}

resource "aws_route_table" "public" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = merge(var.tags, { Name = "${var.name}-public" })

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this[0].id
  }
}

resource "aws_route_table_association" "public" {
  count          = local.create_vpc ? 2 : 0
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public[0].id
}

resource "aws_eip" "nat" {
  count  = local.create_vpc && var.egress == "nat" ? 1 : 0
  domain = "vpc"
  tags   = merge(var.tags, { Name = "${var.name}-nat" })
}

resource "aws_nat_gateway" "this" {
  count         = local.create_vpc && var.egress == "nat" ? 1 : 0
  allocation_id = aws_eip.nat[0].id
  subnet_id     = aws_subnet.public[0].id
  tags          = merge(var.tags, { Name = "${var.name}-dagster" })

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route_table" "private" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = merge(var.tags, { Name = "${var.name}-private" })
}

resource "aws_route" "private_nat" {
  count                  = local.create_vpc && var.egress == "nat" ? 1 : 0
  route_table_id         = aws_route_table.private[0].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[0].id
}

resource "aws_route_table_association" "private" {
  count          = local.create_vpc ? 2 : 0
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[0].id
}

# S3 through a gateway endpoint in both modes: free, and the image layers ECR serves come from S3.
resource "aws_vpc_endpoint" "s3" {
  count             = local.create_vpc ? 1 : 0
  vpc_id            = aws_vpc.this[0].id
  service_name      = "com.amazonaws.${local.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private[0].id]
  tags              = merge(var.tags, { Name = "${var.name}-s3" })
}

resource "aws_vpc_endpoint" "interface" {
  for_each            = local.interface_endpoints
  vpc_id              = aws_vpc.this[0].id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true
  tags                = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

################################################################################
# Security groups: each kind of task its own; every rule names its peer
################################################################################

resource "aws_security_group" "alb" {
  name        = "${var.name}-dagster-alb"
  description = "Dagster UI load balancer: in from the allowed CIDRs, out to the webserver only"
  vpc_id      = local.vpc_id
  tags        = var.tags
}

resource "aws_security_group" "webserver" {
  name        = "${var.name}-dagster-webserver"
  description = "Dagster webserver: in from the load balancer only"
  vpc_id      = local.vpc_id
  tags        = var.tags
}

resource "aws_security_group" "daemon" {
  name        = "${var.name}-dagster-daemon"
  description = "Dagster daemon: no inbound traffic"
  vpc_id      = local.vpc_id
  tags        = var.tags
}

resource "aws_security_group" "code_server" {
  name        = "${var.name}-dagster-code-server"
  description = "Dagster code server (gRPC): in from the daemon, the webserver and the runs only"
  vpc_id      = local.vpc_id
  tags        = var.tags
}

resource "aws_security_group" "run" {
  #checkov:skip=CKV2_AWS_5:Attached at RunTask: the run launcher starts each run's task with this group (DAGSTER_RUN_SECURITY_GROUPS).
  name        = "${var.name}-dagster-run"
  description = "Dagster run tasks: no inbound traffic"
  vpc_id      = local.vpc_id
  tags        = var.tags
}

resource "aws_security_group" "database" {
  name        = "${var.name}-dagster-db"
  description = "Dagster PostgreSQL: in from the Dagster tasks only"
  vpc_id      = local.vpc_id
  tags        = var.tags
}

resource "aws_security_group" "endpoints" {
  count       = length(local.interface_endpoints) > 0 ? 1 : 0
  name        = "${var.name}-dagster-endpoints"
  description = "VPC interface endpoints: HTTPS in from the Dagster tasks only"
  vpc_id      = local.vpc_id
  tags        = var.tags
}

locals {
  task_groups = {
    webserver   = aws_security_group.webserver.id
    daemon      = aws_security_group.daemon.id
    code_server = aws_security_group.code_server.id
    run         = aws_security_group.run.id
  }
  code_server_clients = { for k, v in local.task_groups : k => v if k != "code_server" }
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  for_each          = toset(var.ui_allowed_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from ${each.key}${var.certificate_arn == null ? "" : " (redirected to HTTPS)"}"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.key
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = var.certificate_arn == null ? toset([]) : toset(var.ui_allowed_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from ${each.key}"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.key
}

resource "aws_vpc_security_group_egress_rule" "alb_to_webserver" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the webserver"
  ip_protocol                  = "tcp"
  from_port                    = local.webserver_port
  to_port                      = local.webserver_port
  referenced_security_group_id = aws_security_group.webserver.id
}

resource "aws_vpc_security_group_ingress_rule" "webserver_from_alb" {
  security_group_id            = aws_security_group.webserver.id
  description                  = "From the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = local.webserver_port
  to_port                      = local.webserver_port
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_ingress_rule" "code_server" {
  for_each                     = local.code_server_clients
  security_group_id            = aws_security_group.code_server.id
  description                  = "gRPC from the ${replace(each.key, "_", " ")}"
  ip_protocol                  = "tcp"
  from_port                    = local.code_server_port
  to_port                      = local.code_server_port
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_ingress_rule" "database" {
  for_each                     = local.task_groups
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the ${replace(each.key, "_", " ")}"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = each.value
}

# Out of the tasks: PostgreSQL to the database, gRPC to the code server, HTTPS to AWS APIs (and the OIDC provider).
resource "aws_vpc_security_group_egress_rule" "to_database" {
  for_each                     = local.task_groups
  security_group_id            = each.value
  description                  = "PostgreSQL to the Dagster database"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database.id
}

resource "aws_vpc_security_group_egress_rule" "to_code_server" {
  for_each                     = local.code_server_clients
  security_group_id            = each.value
  description                  = "gRPC to the code server"
  ip_protocol                  = "tcp"
  from_port                    = local.code_server_port
  to_port                      = local.code_server_port
  referenced_security_group_id = aws_security_group.code_server.id
}

resource "aws_vpc_security_group_egress_rule" "https" {
  for_each          = local.task_groups
  security_group_id = each.value
  description       = "HTTPS to AWS APIs (S3, ECR, logs, SQS, SNS, SageMaker, Glue, Secrets Manager)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "endpoints" {
  for_each                     = length(local.interface_endpoints) > 0 ? local.task_groups : {}
  security_group_id            = aws_security_group.endpoints[0].id
  description                  = "HTTPS from the ${replace(each.key, "_", " ")}"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = each.value
}
